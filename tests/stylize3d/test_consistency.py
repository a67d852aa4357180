"""Reprojection consistency: exact correspondences from rendered depth align static renders, catch flicker."""

import torch

from stylize3d.camera_paths import orbit
from stylize3d.consistency import warp_into, warp_rmse
from stylize3d.sh import SH_C0
from stylize3d.splats.render import render
from stylize3d.splats.scene import GaussianScene


def textured_floor(n_side: int = 40) -> GaussianScene:
    """A 2x2 floor of small flat Gaussians with a smooth colour pattern, at z = 0."""
    lin = torch.linspace(-1, 1, n_side)
    y, x = torch.meshgrid(lin, lin, indexing="ij")
    means = torch.stack([x.flatten(), y.flatten(), torch.zeros(n_side * n_side)], dim=1)
    colour = torch.stack([0.5 + 0.4 * torch.sin(4 * x), 0.5 + 0.4 * torch.cos(3 * y), 0.5 + 0.3 * torch.sin(2 * (x + y))])
    n = means.shape[0]
    return GaussianScene(means, torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
                         torch.log(torch.tensor([[0.04, 0.04, 0.004]])).repeat(n, 1), torch.full((n,), 4.0),
                         ((colour.reshape(3, -1).T - 0.5) / SH_C0)[:, None, :])


def _render_path(scene, cams):
    out = render(scene, cams, 48, 48, background=(1.0, 1.0, 1.0), backend="torch")
    return out.rgb.clamp(0, 1), out.depth, out.alpha


def test_static_scene_is_consistent_and_flicker_is_caught():
    cams = orbit(torch.zeros(3), 2.2, 40.0, 10, fov_deg=55, width=48, height=48)
    rgb, depth, alpha = _render_path(textured_floor(), cams)
    short = warp_rmse(rgb, depth, alpha, cams, k=1)
    long = warp_rmse(rgb, depth, alpha, cams, k=7)
    assert short.pairs == 9 and long.pairs == 3
    assert short.valid_fraction > 0.3 and long.valid_fraction > 0.05
    assert warp_rmse(rgb, depth, alpha, cams, k=0).rmse < 1e-6  # a frame warped onto itself is exact
    # k = 1 is a 36 degree step at 48 px: resampling and the changing splat footprint leave ~half a pixel of blur
    assert short.rmse < 0.05 and long.rmse < 0.08
    flicker = (rgb * (1 + 0.3 * (torch.arange(10) % 2).view(10, 1, 1, 1))).clamp(max=1)
    assert warp_rmse(flicker, depth, alpha, cams, k=1).rmse > 3 * short.rmse


def test_occluded_points_are_masked():
    floor = textured_floor()
    blocker = GaussianScene(torch.tensor([[0.0, 0.0, 0.6]]), torch.tensor([[1.0, 0, 0, 0]]),
                            torch.log(torch.tensor([[0.25, 0.25, 0.25]])), torch.tensor([6.0]),
                            torch.zeros(1, 1, 3))
    both = GaussianScene(*(torch.cat([a, b]) for a, b in zip(floor.tensors().values(), blocker.tensors().values())))
    cams = orbit(torch.zeros(3), 2.2, 40.0, 8, fov_deg=55, width=48, height=48)
    rgb, depth, alpha = _render_path(both, cams)
    _, mask_far = warp_into(0, 3, rgb, depth, alpha, cams)
    _, mask_loose = warp_into(0, 3, rgb, depth, alpha, cams, depth_tolerance=10.0)
    # floor points hidden behind the ball in view 3 are dropped by the depth test only
    assert int(mask_loose.sum()) - int(mask_far.sum()) > 20


def _style():
    g = torch.Generator().manual_seed(3)
    return torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(48, 48), mode="nearest")


def test_per_view_baseline_with_no_steps_is_the_colour_transfer_of_the_frames():
    """Known values: 0 steps without colour transfer give the frames back exactly (so the same RMSE as the
    original); with it, the frames recoloured by one map fitted on all of them, then by a second one fitted on
    that result (near the identity: only the clamp to [0,1] moved the statistics), so the covered pixels end with
    the style's mean colour."""
    from core.colour import apply_affine_colour
    from stylize3d.per_view import stylize_per_view
    from stylize3d.scene_style import SceneStyleConfig, fit_scene_colour_map

    cams = orbit(torch.zeros(3), 2.2, 40.0, 10, fov_deg=55, width=48, height=48)
    rgb, depth, alpha = _render_path(textured_floor(), cams)
    config = SceneStyleConfig(size=48)
    config.loop.steps = 0
    config.color_transfer = False
    same = stylize_per_view(rgb, alpha, _style(), config, progress=False)
    assert torch.equal(same, rgb)
    assert warp_rmse(same, depth, alpha, cams, k=1).rmse == warp_rmse(rgb, depth, alpha, cams, k=1).rmse
    config.color_transfer = True
    recoloured = stylize_per_view(rgb, alpha, _style(), config, progress=False)
    once = apply_affine_colour(rgb, *fit_scene_colour_map(rgb, alpha, _style())).clamp(0, 1)
    twice = apply_affine_colour(once, *fit_scene_colour_map(once, alpha, _style())).clamp(0, 1)
    assert torch.equal(recoloured, twice) and not torch.allclose(recoloured, rgb, atol=0.05)
    covered = (alpha > 0.5).expand_as(rgb)
    mean = torch.stack([recoloured[:, c][covered[:, c]].mean() for c in range(3)])
    assert torch.allclose(mean, _style().mean(dim=(0, 2, 3)), atol=0.02)


def test_per_view_baseline_is_less_consistent_than_a_3d_consistent_render():
    """Built to show it: a textured floor seen from 10 views. Recoloured (the colour-transfer-only render, consistent
    by construction) its k=1 reprojection RMSE stays at the resampling floor; each view stylized on its own in 2D
    (2 Adam steps, the 3D default loss) changes the pixels differently in every view, and the RMSE more than
    doubles, at k=1 and at k=7."""
    from stylize3d.per_view import stylize_per_view
    from stylize3d.scene_style import SceneStyleConfig

    cams = orbit(torch.zeros(3), 2.2, 40.0, 10, fov_deg=55, width=48, height=48)
    rgb, depth, alpha = _render_path(textured_floor(), cams)
    config = SceneStyleConfig(size=48)
    config.loop.steps = 2
    zero = SceneStyleConfig(size=48)
    zero.loop.steps = 0
    consistent = stylize_per_view(rgb, alpha, _style(), zero, progress=False)
    per_view = stylize_per_view(rgb, alpha, _style(), config, progress=False)
    for k in (1, 7):
        floor = warp_rmse(consistent, depth, alpha, cams, k=k).rmse
        assert warp_rmse(per_view, depth, alpha, cams, k=k).rmse > 2 * floor
