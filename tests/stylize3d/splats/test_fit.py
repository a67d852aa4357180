"""3DGS fitting: the render outputs densification reads, training that improves held-out PSNR and densifies,
resume that continues exactly, and the command end to end."""

import dataclasses
import json

import pytest
import torch

from core.cli import main
from core.errors import InputError
from stylize3d.camera_paths import orbit
from stylize3d.datasets.posed import PosedDataset
from stylize3d.splats.render import render, render_all
from stylize3d.splats import fit as fit_module
from stylize3d.splats.fit import SplatFitConfig, evaluate, fit_splats, initial_params, params_to_scene

W, H = 32, 24


@pytest.fixture
def dataset(make_scene):
    scene = make_scene(n=120, degree=0, seed=4, spread=0.5)
    scene.opacity_logits.fill_(2.5)
    cameras = orbit(torch.zeros(3), 2.2, 25.0, 6, width=W, height=H)
    images = render_all(scene, cameras, W, H, background=(0.0, 0.0, 0.0)).rgb
    return PosedDataset(cameras, images, None, {"train": [1, 2, 4, 5], "test": [0, 3]}, "nerfstudio",
                        [f"{i}.png" for i in range(6)])


def test_render_exposes_means2d_gradient_and_radii(make_scene):
    scene = make_scene(n=30, degree=0, seed=1, spread=0.4)
    scene.means[0] = torch.tensor([0.0, 0.0, 50.0])  # far behind the camera below: culled
    scene.means.requires_grad_(True)
    cam = orbit(torch.zeros(3), 2.0, 0.0, 1, width=W, height=H)
    cam.viewmats[0] = torch.tensor([[1.0, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 3.0], [0, 0, 0, 1]])  # looks down -z
    out = render(scene, cam, W, H)
    out.means2d.retain_grad()
    out.rgb.sum().backward()
    assert out.means2d.shape == (1, 30, 2) and out.radii.shape == (1, 30, 2) and out.radii.dtype == torch.int32
    assert int(out.radii[0, 0].max()) == 0 and torch.equal(out.means2d.grad[0, 0], torch.zeros(2))
    drawn = (out.radii[0] > 0).all(-1)
    assert drawn.sum() > 10 and (out.means2d.grad[0, drawn].abs().sum(-1) > 0).float().mean() > 0.5


def test_fit_improves_held_out_psnr_and_densifies(dataset):
    config = SplatFitConfig(steps=40, max_sh_degree=0, init_points=150, refine_start=10, refine_every=10,
                            refine_stop=30, reset_every=1000, test_every=20, grow_grad2d=1e-5)
    start = evaluate(params_to_scene(initial_params(dataset.cameras[[1, 2, 4, 5]], config)),
                     dataset.cameras[[0, 3]], dataset.images[[0, 3]], torch.zeros(3))
    result = fit_splats(dataset, config, torch.device("cpu"), progress=False)
    assert result.metrics["psnr"] > start["psnr"] + 3
    assert result.metrics["gaussians"] != 150  # DefaultStrategy cloned/split/pruned
    assert [h["step"] for h in result.history] == [20, 40] and not result.interrupted


def test_resume_continues_exactly(dataset, tmp_path, monkeypatch):
    from core.optimize import Checkpoint

    config = SplatFitConfig(steps=16, max_sh_degree=1, sh_interval=8, init_points=100, refine_start=4, refine_every=4,
                            refine_stop=12, reset_every=1000, test_every=100, grow_grad2d=1e-5)
    whole = fit_splats(dataset, config, torch.device("cpu"), progress=False)
    checkpoint = Checkpoint(tmp_path / "c.pt", every=5, meta={"x": 1})
    real_render, calls = fit_module.render, {"n": 0}

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 11:
            raise KeyboardInterrupt
        return real_render(*args, **kwargs)

    monkeypatch.setattr(fit_module, "render", interrupting)
    first = fit_splats(dataset, config, torch.device("cpu"), checkpoint=checkpoint, progress=False)
    assert first.interrupted and first.steps_done == 10
    monkeypatch.setattr(fit_module, "render", real_render)
    second = fit_splats(dataset, config, torch.device("cpu"), checkpoint=checkpoint, resume=True, progress=False)
    assert not second.interrupted and second.scene.num_gaussians == whole.scene.num_gaussians
    assert torch.allclose(second.scene.means, whole.scene.means, atol=1e-6)
    assert torch.allclose(second.scene.sh, whole.scene.sh, atol=1e-6)
    assert not (tmp_path / "c.pt").exists()


def test_mcmc_needs_cuda(dataset):
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(InputError, match="mcmc needs CUDA"):
        fit_splats(dataset, SplatFitConfig(steps=1, strategy="mcmc"), torch.device("cpu"), progress=False)


def _write_nerfstudio(dataset, folder):
    """``folder/transforms.json`` + ``folder/images/<i>.png`` of ``dataset``."""
    from stylize3d.datasets.transforms_json import transforms_dict
    from core.io.images import save_image

    doc = transforms_dict(dataset.cameras)
    for i, frame in enumerate(doc["frames"]):
        frame["file_path"] = f"images/{i}.png"
        save_image(dataset.images[i:i + 1], folder / "images" / f"{i}.png")
    (folder / "transforms.json").write_text(json.dumps(doc))


def test_fit_command_writes_scene_held_out_renders_and_report(dataset, tmp_path):
    _write_nerfstudio(dataset, tmp_path / "data")
    out, report = tmp_path / "fit" / "scene.ply", tmp_path / "r.json"
    code = main(["fit", str(tmp_path / "data"), "-o", str(out), "--model", "splats", "--steps", "4",
                 "--init-points", "50", "--max-sh-degree", "0", "--quiet", "--report", str(report)])
    assert code == 0 and out.is_file()
    r = json.loads(report.read_text())
    assert r["sizes"]["test_views"] == 1 and r["metrics"]["held_out"]["psnr"] > 0  # every 8th frame: frame 0
    assert sorted(p.name for p in (tmp_path / "fit" / "scene_heldout").iterdir()) == ["camera_0000.png"]
    assert main(["scene", str(out), str(tmp_path / "data" / "images" / "0.png"), "-o", str(tmp_path / "st"),
                 "--cameras", str(tmp_path / "data"), "--steps", "1", "--size", "32", "--video-frames", "0",
                 "--quiet"]) == 0


def test_fit_command_trains_on_downscaled_images(dataset, tmp_path):
    from PIL import Image

    _write_nerfstudio(dataset, tmp_path / "data")
    out, report = tmp_path / "scene.ply", tmp_path / "r.json"
    assert main(["fit", str(tmp_path / "data"), "-o", str(out), "--model", "splats", "--steps", "2", "--downscale",
                 "2", "--background", "white", "--init-points", "30", "--max-sh-degree", "0", "--quiet",
                 "--report", str(report)]) == 0
    sizes = json.loads(report.read_text())["sizes"]
    assert (sizes["width"], sizes["height"]) == (W // 2, H // 2)
    assert Image.open(tmp_path / "scene_heldout" / "camera_0000.png").size == (W, H // 2)  # render | photo


def test_white_border_fraction():
    images = torch.zeros(2, 3, 16, 32)
    images[0, :, 0, :] = 1.0  # the top row of one image: 32 of 2 x 92 border pixels (b = 1)
    assert fit_module.white_border_fraction(images) == pytest.approx(32 / 184)
    images[:, :, 0, :], images[:, :, -1, :], images[:, :, :, 0], images[:, :, :, -1] = 1.0, 1.0, 1.0, 1.0
    assert fit_module.white_border_fraction(images) == 1.0
    images[:, 2] = 0.94  # not white in one channel
    assert fit_module.white_border_fraction(images) == 0.0


@pytest.mark.parametrize("background, told, trained_on", [("auto", True, "white"), ("white", False, "white"),
                                                         ("black", False, "black")])
def test_fit_command_trains_a_white_backdrop_on_white(dataset, tmp_path, background, told, trained_on):
    import json
    import warnings

    backdrop = dataclasses.replace(dataset, images=dataset.images.clone())
    backdrop.images[:, :, :3], backdrop.images[:, :, -3:] = 1.0, 1.0  # white top and bottom bands
    _write_nerfstudio(backdrop, tmp_path / "data")
    args = ["fit", str(tmp_path / "data"), "-o", str(tmp_path / "s.ply"), "--model", "splats", "--steps", "1",
            "--init-points", "20", "--max-sh-degree", "0", "--quiet", "--background", background,
            "--report", str(tmp_path / "r.json")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(args) == 0
    notes = [str(w.message) for w in caught if "white backdrop" in str(w.message)]
    assert len(notes) == int(told) and (not told or notes[0].startswith("67% of the pictures' border pixels"))  # 72/108
    assert json.loads((tmp_path / "r.json").read_text())["metrics"]["background"] == trained_on
    _write_nerfstudio(dataset, tmp_path / "plain")  # rendered on black: auto stays black, nothing said
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(args[:1] + [str(tmp_path / "plain"), "-o", str(tmp_path / "p.ply")] + args[4:]) == 0
    assert not [w for w in caught if "white backdrop" in str(w.message)]


def test_resolve_background_decides_auto_from_the_data(dataset):
    plain = fit_module.resolve_background(SplatFitConfig(), dataset)
    assert plain.background == "black" and plain.background_rgb(False) == (0.0, 0.0, 0.0)
    rgba = dataclasses.replace(dataset, alphas=torch.ones_like(dataset.images[:, :1]))
    assert fit_module.resolve_background(SplatFitConfig(), rgba).background == "white"
    assert fit_module.resolve_background(SplatFitConfig(background="black"), rgba).background == "black"


def test_schedules_scale_with_the_step_count():
    short, published = SplatFitConfig(steps=3000).schedule(), SplatFitConfig(steps=30000).schedule()
    assert short == {"sh_interval": 100, "refine_start": 150, "refine_stop": 1800, "refine_every": 100,
                     "reset_every": 3001}  # no opacity reset in a short run
    assert published == {"sh_interval": 1000, "refine_start": 1500, "refine_stop": 15000, "refine_every": 100,
                         "reset_every": 3000}
    assert SplatFitConfig(steps=3000, refine_every=7, sh_interval=5).schedule()["refine_every"] == 7
    config = SplatFitConfig(steps=100, res_levels=3, res_fraction=0.3)
    assert [config.downscale_at(s) for s in (0, 14, 15, 29, 30, 99)] == [4, 4, 2, 2, 1, 1]
    assert SplatFitConfig(steps=100, res_levels=1).downscale_at(0) == 1


def test_coarse_steps_train_on_downscaled_views_and_minutes_stop_early(dataset, monkeypatch):
    sizes = []
    real_render = fit_module.render

    def recording(scene, cams, width, height, *args, **kwargs):
        sizes.append((width, height))
        return real_render(scene, cams, width, height, *args, **kwargs)

    monkeypatch.setattr(fit_module, "render", recording)
    config = SplatFitConfig(steps=10, max_sh_degree=0, init_points=50, res_levels=2, res_fraction=0.5,
                            test_every=100)
    result = fit_splats(dataset, config, torch.device("cpu"), progress=False)
    assert sizes[:5] == [(W // 2, H // 2)] * 5 and sizes[5:10] == [(W, H)] * 5 and result.steps_done == 10
    assert result.metrics["train_cpu_seconds"] > 0
    stopped = fit_splats(dataset, dataclasses.replace(config, minutes=1e-9), torch.device("cpu"), progress=False)
    assert stopped.steps_done == 0 and not stopped.interrupted and "psnr" in stopped.metrics
    with pytest.raises(InputError, match="minutes"):
        SplatFitConfig(minutes=0).validate()


def _fake_clock(tick: float):
    """A fake clock that advances ``tick`` seconds at every reading (a power of two: exact in floating point)."""
    ticks = iter(range(10 ** 6))
    return lambda: next(ticks) * tick


def test_a_binding_budget_spreads_every_schedule_and_stops_within_it(dataset, monkeypatch):
    """``minutes=0.25`` (15 s) on a clock read once before the loop and once after each step, 1/4 s a reading:
    59 of 1,000 steps fit, the fit stops at exactly 15 s, and every step-counted schedule ran to its end on the
    way: full-size views from 30 %, the SH degree raised to its maximum, and the strategy told every refinement
    step (multiples of 33 in (50, 200)) although the schedule step advanced ~17 steps at a time."""
    scheduled, told, real_step = [], [], fit_module._strategy_step

    def recording(previous, current, every):
        scheduled.append(current)
        told.append(real_step(previous, current, every))
        return told[-1]

    monkeypatch.setattr(fit_module, "_strategy_step", recording)
    config = SplatFitConfig(steps=1000, minutes=0.25, max_sh_degree=1, init_points=50, test_every=10 ** 6,
                            refine_stop=200)
    result = fit_splats(dataset, config, torch.device("cpu"), progress=False, clock=_fake_clock(1 / 4))
    m = result.metrics
    assert result.steps_done == 59 and result.seconds == 15.0 and not result.interrupted
    assert (m["budget_s"], m["budget_left_s"], m["stopped_by"], m["schedule_progress"]) == (15.0, 0.0, "budget", 1.0)
    assert m["sh_degree_reached"] == 1 and m["final_train_size"] == [W, H]
    plan = config.schedule()
    refinements = {s for s in range(plan["refine_start"] + 1, plan["refine_stop"]) if s % plan["refine_every"] == 0}
    assert refinements == {66, 99, 132, 165, 198} and refinements <= set(told)
    assert scheduled[-1] == 983  # the last step ran at 14.75 of 15 s


def test_steps_that_finish_early_report_the_budget_left(dataset, tmp_path, capsys):
    config = SplatFitConfig(steps=4, minutes=0.25, max_sh_degree=0, init_points=40, test_every=10 ** 6)
    result = fit_splats(dataset, config, torch.device("cpu"), progress=False, clock=_fake_clock(1 / 8))
    m = result.metrics
    assert result.steps_done == 4 and result.seconds == 0.625  # 5 readings
    assert (m["budget_left_s"], m["stopped_by"], m["schedule_progress"]) == (14.375, "steps", 1.0)
    _write_nerfstudio(dataset, tmp_path / "data")
    report = tmp_path / "r.json"
    assert main(["fit", str(tmp_path / "data"), "-o", str(tmp_path / "s.ply"), "--model", "splats", "--steps", "2",
                 "--init-points", "30", "--max-sh-degree", "0", "--minutes", "30", "--report", str(report)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["stopped_by"] == "steps" and 0 < metrics["budget_left_s"] < 1800
    assert "of the 30-minute budget left (raise --steps to use it)" in capsys.readouterr().err


def test_strategy_step_never_skips_a_refinement():
    step = fit_module._strategy_step
    assert [step(s - 1, s, 10) for s in (1, 9, 10, 11)] == [1, 9, 10, 11]  # no jumps: the step itself
    assert step(95, 103, 10) == 100 and step(101, 108, 10) == 108 and step(99, 120, 10) == 120


def test_synthetic_sparse_points_are_noisy_surface_samples(make_scene, tmp_path):
    from stylize3d.capture.sfm import read_point_ply
    from stylize3d.datasets.synthetic import write_sparse_points

    scene = make_scene(n=200, degree=0, seed=2, spread=0.5)
    write_sparse_points(scene, tmp_path / "sparse_pc.ply", 80, noise=0.01)
    xyz, rgb = read_point_ply(tmp_path / "sparse_pc.ply")
    assert xyz.shape == (80, 3) and rgb.shape == (80, 3)
    nearest = torch.cdist(torch.from_numpy(xyz).double(), scene.means.double()).min(1)
    truth = (0.5 + 0.28209479 * scene.sh[nearest.indices, 0]).clamp(0, 1)
    assert float(nearest.values.max()) < 0.06 and float(nearest.values.mean()) > 1e-3
    assert float((torch.from_numpy(rgb) - truth).abs().max()) < 0.3


@pytest.mark.parametrize("choice, white_data, expected", [("auto", False, 0.0), ("auto", True, 1.0),
                                                          ("white", False, 1.0), ("black", True, 0.0)])
def test_background_choice_reaches_training_and_held_out_renders(dataset, monkeypatch, choice, white_data, expected):
    backgrounds, real_render = [], fit_module.render

    def recording(scene, cams, width, height, background, *args, **kwargs):
        backgrounds.append(torch.as_tensor(background).tolist())
        return real_render(scene, cams, width, height, background, *args, **kwargs)

    monkeypatch.setattr(fit_module, "render", recording)
    if white_data:  # RGBA data: composited on white
        dataset = dataclasses.replace(dataset, alphas=torch.ones(len(dataset), 1, H, W))
    config = SplatFitConfig(steps=3, max_sh_degree=0, init_points=40, test_every=100, background=choice)
    fit_splats(dataset, config, torch.device("cpu"), progress=False)
    assert len(backgrounds) == 3 + 2 * 2 and all(b == [expected] * 3 for b in backgrounds)  # 3 steps, 2 held out x2
    assert config.background_rgb(white_data) == (expected,) * 3


def test_background_choice_is_checked():
    with pytest.raises(InputError, match="--background 'grey': choose auto, white, black"):
        SplatFitConfig(background="grey").validate()
