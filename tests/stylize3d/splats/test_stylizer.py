"""Stylizer: SH-correct colour transfer, frozen geometry, loss going down, interrupt + resume."""

import dataclasses

import torch

from core.config import replace_fields

from core.optimize import Checkpoint
from stylize3d.camera_paths import orbit
from stylize3d.scene_style import SceneStyleConfig, fit_scene_colour_map
from stylize3d.sh import eval_sh
from stylize3d.splats.render import render_all
from stylize3d.splats.stylize import transfer_sh_colours
from stylize3d.stylize import stylize_scene


def test_colour_transfer_acts_on_rendered_colour_from_every_direction(make_scene):
    scene = make_scene(n=50, degree=3, seed=4)
    A = torch.tensor([[0.8, 0.1, 0.0], [0.05, 0.9, 0.1], [0.0, -0.2, 1.1]])
    b = torch.tensor([0.05, -0.1, 0.2])
    moved = transfer_sh_colours(scene, A, b)
    dirs = torch.randn(50, 3)
    before = 0.5 + eval_sh(3, dirs, scene.sh)
    after = 0.5 + eval_sh(3, dirs, moved.sh)
    assert torch.allclose(after, before @ A.T + b, atol=1e-5)
    # the naive recipe (x A^T + b on every coefficient) is not the same map
    naive = dataclasses.replace(scene, sh=scene.sh @ A.T + b)
    assert not torch.allclose(0.5 + eval_sh(3, dirs, naive.sh), after, atol=1e-2)


def test_fitted_colour_map_moves_render_statistics_to_the_style(make_scene):
    scene = make_scene(n=400, degree=0, seed=6, spread=0.5)
    scene.opacity_logits.fill_(4.0)
    scene.sh.mul_(0.3)  # muted colours, so the mapped colours stay inside [0, 1]
    cams = orbit(torch.zeros(3), 2.5, 20.0, 3, width=48, height=48)
    style = torch.stack([torch.full((40, 40), 0.7), torch.full((40, 40), 0.3), torch.linspace(0.2, 0.6, 40).expand(40, 40)])[None]
    out = render_all(scene, cams, 48, 48)
    rgb, alpha = out.rgb, out.alpha
    A, b = fit_scene_colour_map(rgb, alpha, style)
    out2 = render_all(transfer_sh_colours(scene, A, b), cams, 48, 48)
    rgb2, alpha2 = out2.rgb, out2.alpha
    covered = alpha2[:, 0] > 0.99
    mean = rgb2.permute(0, 2, 3, 1)[covered].mean(0)
    assert torch.allclose(mean, style.mean(dim=(0, 2, 3)), atol=0.03)


def _setup(make_scene):
    scene = make_scene(n=300, degree=1, seed=8, spread=0.5)
    scene.opacity_logits.fill_(2.0)
    cams = orbit(torch.zeros(3), 2.5, 20.0, 1, width=32, height=32)
    y, x = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    style = torch.stack([0.5 + 0.5 * torch.sin(12 * x), 0.5 + 0.5 * torch.cos(9 * y), x * y])[None]
    return scene, cams, style


def test_colour_only_run_lowers_the_loss_and_keeps_geometry(make_scene):
    scene, cams, style = _setup(make_scene)
    config = replace_fields(SceneStyleConfig, steps=8, size=32, content_weight=0.0, tv_weight=0.0, lr=0.1, color_transfer=False)
    result = stylize_scene(scene, style, cams, config=config, progress=False)
    history = [h["total"] for h in result.optimization.history]
    assert min(history[-3:]) < history[0] - 0.01
    for name in ("means", "quats", "log_scales", "opacity_logits"):
        assert torch.equal(getattr(result.scene, name), getattr(scene, name)), name
    assert torch.equal(result.scene.sh[:, 1:], scene.sh[:, 1:])  # view-dependent part untouched
    assert not torch.equal(result.scene.sh[:, 0], scene.sh[:, 0])


def test_opacity_mode_trains_opacity_but_not_scales(make_scene):
    scene, cams, style = _setup(make_scene)
    config = replace_fields(SceneStyleConfig, steps=5, size=32, color_transfer=False, lr=0.1, content_weight=0.0,
                            tv_weight=0.0)
    result = stylize_scene(scene, style, cams, config=config, optimize="color+opacity", geometry_weight=0.0,
                           progress=False)
    assert not torch.equal(result.scene.opacity_logits, scene.opacity_logits)
    assert torch.equal(result.scene.log_scales, scene.log_scales)
    assert "geometry" in result.stylization.final


def test_interrupt_keeps_last_and_resume_matches_uninterrupted_run(make_scene, tmp_path):
    scene, _, style = _setup(make_scene)
    cams = orbit(torch.zeros(3), 2.5, 20.0, 5, width=32, height=32)  # several views: the camera RNG must resume
    config = replace_fields(SceneStyleConfig, steps=4, size=32, lr=0.1)
    straight = stylize_scene(scene, style, cams, config=config, progress=False)

    calls = {"n": 0}

    def interrupt_on_third_step(image, view):
        calls["n"] += 1
        if calls["n"] == 4:  # call 1 is the driver's initial evaluation, calls 2-4 the steps
            raise KeyboardInterrupt
        return {"zero": image.sum() * 0.0}

    ckpt = Checkpoint(tmp_path / "ckpt.pt", every=1, meta={"test": 1})
    stopped = stylize_scene(scene, style, cams, config=config, checkpoint=ckpt, progress=False,
                            terms=[interrupt_on_third_step])
    assert stopped.optimization.interrupted and stopped.optimization.steps_done == 2
    assert (tmp_path / "ckpt.pt").exists()
    assert len(stopped.colour_maps) == 1  # no final colour transfer after Ctrl-C
    resumed = stylize_scene(scene, style, cams, config=config, checkpoint=ckpt, resume=True, progress=False)
    assert resumed.optimization.steps_done == 2 and not (tmp_path / "ckpt.pt").exists()
    assert torch.allclose(resumed.scene.sh, straight.scene.sh, atol=1e-5)
