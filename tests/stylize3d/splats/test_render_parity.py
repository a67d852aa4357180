"""The torch renderer's covariance, projection and SH agree with gsplat's pure-torch reference (CPU)."""

import pytest
import torch

from stylize3d.camera_paths import orbit
from stylize3d.sh import eval_sh
from stylize3d.splats.render.projection import project_gaussians, quat_scale_to_covar

ref = pytest.importorskip("gsplat.cuda._torch_impl", reason="gsplat is not installed")


def test_covariance_matches_gsplat(make_scene):
    scene = make_scene(n=500, seed=1)
    scales = torch.exp(scene.log_scales)
    ours = quat_scale_to_covar(scene.quats, scales)
    theirs, _ = ref._quat_scale_to_covar_preci(scene.quats, scales, compute_preci=False)
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=1e-5)


def test_projection_matches_gsplat(make_scene):
    scene = make_scene(n=800, seed=2, spread=2.5)  # some Gaussians behind cameras and off-screen
    covars = quat_scale_to_covar(scene.quats, torch.exp(scene.log_scales))
    cams = orbit(torch.zeros(3), 3.0, 25.0, 3, width=80, height=60, fov_deg=60)
    cams.Ks[1, 0, 2] += 7.0  # off-centre principal point
    ours = project_gaussians(scene.means, covars, cams.viewmats, cams.Ks, 80, 60)
    radii, means2d, depths, conics, _ = ref._fully_fused_projection(scene.means, covars, cams.viewmats, cams.Ks, 80, 60)
    assert torch.equal(ours.radii, radii)
    valid = (radii > 0).all(-1)
    assert 100 < int(valid.sum()) < valid.numel()  # both culled and visible Gaussians are exercised
    assert torch.allclose(ours.means2d[valid], means2d[valid], atol=1e-4, rtol=1e-5)
    assert torch.allclose(ours.conics[valid], conics[valid], atol=1e-5, rtol=1e-5)
    assert torch.allclose(ours.depths, depths, atol=1e-6)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_spherical_harmonics_match_gsplat(degree):
    g = torch.Generator().manual_seed(degree)
    dirs = torch.randn(300, 3, generator=g)
    coeffs = torch.randn(300, 16, 3, generator=g)
    ours = eval_sh(degree, dirs, coeffs)
    theirs = ref._spherical_harmonics(degree, dirs, coeffs)
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=1e-5)
