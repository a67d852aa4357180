"""The stylize-splat method against the real nerfstudio 1.1.5, on the CPU (our torch renderer stands in for gsplat).

Skipped where nerfstudio is not importable (the main environment); `make test-nerfstudio` runs them.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("nerfstudio", reason="nerfstudio is not installed in this environment: `make test-nerfstudio` "
                                         "runs these tests in .venv-nerfstudio")

from tests.nerfstudio.conftest import (HEIGHT, WIDTH, build_model, camera_to_worlds, ns_cameras,  # noqa: E402
                                       splatfacto_state)

OPTIONS = ("--pipeline.model.style-image", "--pipeline.model.style-weight", "--pipeline.model.content-weight",
           "--pipeline.model.style-loss", "--pipeline.model.style-layers", "--pipeline.model.relative",
           "--pipeline.model.tv-weight", "--pipeline.model.freeze-geometry",
           "--pipeline.model.color-transfer", "--pipeline.model.style-long-side", "--pipeline.model.renderer")


def test_nerfstudio_discovers_the_method():
    from nerfstudio.plugins.registry import discover_methods

    from stylize3d.nerfstudio.method import StyleTrainerConfig
    from stylize3d.nerfstudio.model import StyleSplatModelConfig

    methods, descriptions = discover_methods()
    assert "stylize-splat" in methods, f"entry point not registered; found {sorted(methods)}"
    config = methods["stylize-splat"]
    assert isinstance(config, StyleTrainerConfig) and isinstance(config.pipeline.model, StyleSplatModelConfig)
    assert config.pipeline.model.freeze_geometry and config.pipeline.model.style_loss == "nnfm"
    assert "splatfacto" in descriptions["stylize-splat"]


def test_ns_train_help_lists_our_options():
    ns_train = Path(sys.executable).with_name("ns-train")
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    done = subprocess.run([str(ns_train), "stylize-splat", "--help"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    missing = [option for option in OPTIONS if option not in done.stdout]
    assert not missing, f"ns-train stylize-splat --help lacks {missing}"


def test_config_builds_a_model_that_takes_a_splatfacto_state(style_file):
    state = splatfacto_state(n_side=6, degree=2)
    model = build_model(style_file, state)
    assert model.num_points == 36 and model.config.sh_degree == 2
    assert model.features_rest.shape == (36, 8, 3)
    assert torch.equal(model.means, state["means"]) and int(model.style_stage) == 0
    groups = model.get_param_groups()
    assert sorted(groups) == ["features_dc"]
    assert [n for n, p in model.gauss_params.items() if p.requires_grad] == ["features_dc"]
    unfrozen = build_model(style_file, state, freeze_geometry=False)
    assert sorted(unfrozen.get_param_groups()) == sorted(state)


def test_sh_degree_zero_models_are_refused(style_file):
    state = splatfacto_state(n_side=4, degree=0)
    with pytest.raises(ValueError, match="SH degree >= 1"):
        build_model(style_file, state)


def test_style_loss_computes_and_trains_only_the_colour(style_file):
    model = build_model(style_file)
    camera = ns_cameras(camera_to_worlds(1))
    outputs = model.get_outputs(camera)
    assert outputs["rgb"].shape == (HEIGHT, WIDTH, 3)
    assert float(outputs["accumulation"].mean()) > 0.5  # the plane fills most of the view
    photo = (outputs["rgb"].detach() * 255).round().to(torch.uint8)
    metrics = {}
    losses = model.get_loss_dict(outputs, {"image": photo, "image_idx": 0}, metrics)
    assert sorted(losses) == ["style_content", "tv"]
    assert all(torch.isfinite(v) and v.ndim == 0 for v in losses.values())
    assert sorted(metrics) == ["content", "style"] and not any(v.requires_grad for v in metrics.values())
    # the photo is the render itself: the content term is ~0; the stripes are far away in VGG space
    assert float(metrics["content"]) < 0.05 and 0.05 < float(metrics["style"]) <= 2.0
    sum(losses.values()).backward()
    assert float(model.features_dc.grad.abs().sum()) > 0
    assert model.means.grad is None and model.opacities.grad is None


def test_geometry_trains_when_unfrozen(style_file):
    model = build_model(style_file, freeze_geometry=False)
    outputs = model.get_outputs(ns_cameras(camera_to_worlds(1)))
    losses = model.get_loss_dict(outputs, {"image": outputs["rgb"].detach(), "image_idx": 0})
    assert float(losses["geometry"]) == 0.0  # nothing has moved yet
    sum(losses.values()).backward()
    assert float(model.means.grad.abs().sum()) > 0 and float(model.opacities.grad.abs().sum()) > 0


def test_loss_is_the_objective_total_plus_the_splat_regularizers(style_file):
    """The summed loss is what ``stylize scene`` minimises on splats: the objective's ``weighted_total`` of its
    terms plus :func:`splat_regularizers` with the opacity/scale pulls; ``style_layers`` and ``relative`` reach
    the objective."""
    from core.losses.objective import StyleObjective
    from stylize3d.splats.stylize import splat_regularizers

    layers = ("relu2_1", "relu3_1")
    state = splatfacto_state()
    model = build_model(style_file, state, freeze_geometry=False, style_loss="gram", style_layers=layers,
                        relative=False, style_weight=3.0, content_weight=0.5, tv_weight=0.3, geometry_weight=2.0)
    camera = ns_cameras(camera_to_worlds(1))
    photo = model.get_outputs(camera)["rgb"].detach().flip(0)  # upside down: a content term well above 0
    batch = {"image": photo, "image_idx": 0}
    model.get_loss_dict(model.get_outputs(camera), batch)  # the pulls start from here
    with torch.no_grad():
        model.opacities.sub_(0.5)
        model.scales.add_(0.1)
    outputs = model.get_outputs(camera)
    metrics = {}
    losses = model.get_loss_dict(outputs, batch, metrics)
    assert sorted(losses) == ["geometry", "style_content", "tv"]
    assert abs(float(losses["geometry"]) - 2.0 * (0.5 + 0.1)) < 1e-5

    objective = model.objective(max(HEIGHT, WIDTH))
    assert objective.style_layers == layers and objective.config.relative is False
    assert objective.layer_weights == {name: 0.5 for name in layers}  # relative=False: 1/L per layer
    image, reference = outputs["rgb"].permute(2, 0, 1)[None], photo.permute(2, 0, 1)[None]
    fresh = StyleObjective(model.loss_config()).set_style([model.style_picture()], max(HEIGHT, WIDTH))
    terms = fresh.terms(image, reference)
    assert float(terms["content"]) > 0.01
    assert torch.allclose(metrics["style"], terms["style"]) and torch.allclose(metrics["content"], terms["content"])
    pulls = [(model.opacities, state["opacities"]), (model.scales, state["scales"])]
    expected = fresh.weighted_total(terms) + sum(splat_regularizers(image, 0.3, 2.0, pulls).values())
    assert torch.allclose(sum(losses.values()), expected, rtol=1e-5, atol=1e-7)


def test_colour_transfer_moves_the_renders_to_the_style_statistics(style_file):
    from core.colour import image_pixels
    from core.io.images import load_image

    model = build_model(style_file)
    cameras = ns_cameras(camera_to_worlds(4))
    style_mean = image_pixels(load_image(style_file)).mean(0)

    def covered_mean():
        with torch.no_grad():
            model.eval()
            outs = [model.get_outputs(cameras[i:i + 1]) for i in range(len(cameras))]
            model.train()
        rgb = torch.cat([o["rgb"].reshape(-1, 3) for o in outs])
        alpha = torch.cat([o["accumulation"].reshape(-1) for o in outs])
        return rgb[alpha > 0.5].mean(0)

    before = covered_mean()
    assert float((before - style_mean).abs().max()) > 0.2
    means = model.means.detach().clone()
    map_before = model.colour_transfer(cameras)
    assert int(model.style_stage) == 1 and torch.equal(model.style_colour_maps[0], map_before)
    # the affine map matches the mean exactly before clamping; clamping and alpha blending leave a little
    assert float((covered_mean() - style_mean).abs().max()) < 0.06
    assert torch.equal(model.means, means)
    model.colour_transfer(cameras)
    assert int(model.style_stage) == 2
    with pytest.raises(RuntimeError, match="already applied"):
        model.colour_transfer(cameras)


def test_ns_train_stylizes_a_splatfacto_run_on_cpu(style_file, splatfacto_run, tmp_path, monkeypatch):
    """The whole ``ns-train stylize-splat`` path (nerfstudio's entry point, in-process so that LPIPS stays
    stubbed): 3 steps after the loaded step 100, both colour transfers, geometry kept, checkpoint written."""
    from nerfstudio.scripts import train

    data, models, state = splatfacto_run
    out = tmp_path / "outputs"
    argv = ["ns-train", "stylize-splat", "--data", str(data), "--load-dir", str(models),
            "--pipeline.model.style-image", str(style_file), "--max-num-iterations", "3",
            "--machine.device-type", "cpu", "--vis", "tensorboard", "--output-dir", str(out),
            "--experiment-name", "synthetic", "--timestamp", "t0", "--pipeline.model.color-transfer-views", "2",
            "nerfstudio-data", "--orientation-method", "none", "--center-method", "none",
            "--auto-scale-poses", "False", "--train-split-fraction", "0.75"]
    monkeypatch.setattr(sys, "argv", argv)
    train.entrypoint()
    run = out / "synthetic" / "stylize-splat" / "t0"
    assert (run / "config.yml").is_file()
    saved = torch.load(run / "nerfstudio_models" / "step-000000103.ckpt", map_location="cpu")
    pipeline = saved["pipeline"]
    assert int(pipeline["_model.style_stage"]) == 2
    assert torch.equal(pipeline["_model.gauss_params.means"], state["means"])
    assert torch.equal(pipeline["_model.gauss_params.opacities"], state["opacities"])
    change = (pipeline["_model.gauss_params.features_dc"] - state["features_dc"]).abs().mean()
    assert float(change) > 0.05
    assert sorted(saved["optimizers"]) == ["features_dc"]
    # what ns-viewer / ns-render load: nerfstudio's eval_setup on the run's config.yml shows the stylized scene
    from nerfstudio.utils.eval_utils import eval_setup

    from stylize3d.nerfstudio.bridge import nerfstudio_cameras, render_splatfacto

    _, loaded, _, step = eval_setup(run / "config.yml", test_mode="inference")
    assert step == 103 and torch.equal(loaded.model.features_dc, pipeline["_model.gauss_params.features_dc"])
    camera = ns_cameras(camera_to_worlds(1))
    shown = loaded.model.get_outputs_for_camera(camera)["rgb"]
    params = {k[len("_model.gauss_params."):]: v for k, v in pipeline.items() if k.startswith("_model.gauss_params.")}
    ours = nerfstudio_cameras(camera.camera_to_worlds, camera.fx, camera.fy, camera.cx, camera.cy, camera.width,
                              camera.height)
    expected = render_splatfacto(params, ours, torch.ones(3), sh_degree=3)["rgb"]
    assert torch.allclose(shown, expected, atol=1e-5)


def test_ns_train_refuses_without_a_checkpoint(style_file, splatfacto_run, tmp_path, monkeypatch, capsys):
    from nerfstudio.scripts import train

    data, _, _ = splatfacto_run
    monkeypatch.setattr(sys, "argv", ["ns-train", "stylize-splat", "--data", str(data), "--machine.device-type",
                                      "cpu", "--vis", "tensorboard", "--output-dir", str(tmp_path / "o"),
                                      "--pipeline.model.style-image", str(style_file)])
    with pytest.raises(SystemExit) as exit_info:
        train.entrypoint()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ns-train stylize-splat: ") and "--load-dir" in err[-1]
