"""3DGS fitting: the render outputs densification reads, training that improves held-out PSNR and densifies,
resume that continues exactly, and the command end to end."""

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


def test_fit_command_writes_scene_held_out_renders_and_report(dataset, tmp_path):
    from stylize3d.cameras import transforms_dict
    from core.io.images import save_image

    doc = transforms_dict(dataset.cameras)
    for i, frame in enumerate(doc["frames"]):
        frame["file_path"] = f"images/{i}.png"
        save_image(dataset.images[i:i + 1], tmp_path / "data" / "images" / f"{i}.png")
    (tmp_path / "data" / "transforms.json").write_text(json.dumps(doc))
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
