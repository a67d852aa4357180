"""The nerfstudio bridge (plain torch, no nerfstudio): camera conventions, splatfacto tensors, rendering."""

import math

import pytest
import torch

from stylize3d.nerfstudio.bridge import nerfstudio_cameras, render_splatfacto, splatfacto_scene


def splatfacto_params(means, degree=3, opacity=0.99, log_scale=-3.0, colour=(1.0, 1.0, 1.0)):
    """splatfacto's ``gauss_params`` layout for Gaussians at ``means`` ``N,3``: round, nearly opaque, one colour."""
    n = means.shape[0]
    dc = (torch.tensor(colour) - 0.5) / 0.28209479177387814
    return {"means": means.float(), "scales": torch.full((n, 3), log_scale),
            "quats": torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
            "features_dc": dc.repeat(n, 1), "features_rest": torch.zeros(n, (degree + 1) ** 2 - 1, 3),
            "opacities": torch.full((n, 1), math.log(opacity / (1 - opacity)))}


def one_camera(c2w, fx=40.0, fy=40.0, cx=16.0, cy=12.0, width=32, height=24):
    t = lambda v: torch.tensor([[v]], dtype=torch.float32)  # noqa: E731 - nerfstudio's B,1 layout
    return nerfstudio_cameras(c2w.reshape(1, 3, 4).float(), t(fx), t(fy), t(cx), t(cy),
                              torch.tensor([[width]]), torch.tensor([[height]]))


def test_identity_opengl_camera_becomes_the_opencv_flip():
    cams = one_camera(torch.eye(4)[:3], fx=50, fy=60, cx=15.5, cy=11.5)
    assert torch.allclose(cams.viewmats[0], torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0])))
    assert torch.allclose(cams.Ks[0], torch.tensor([[50.0, 0, 15.5], [0, 60.0, 11.5], [0, 0, 1]]))
    assert cams.widths.tolist() == [32] and cams.heights.tolist() == [24]


def test_translated_camera_centre_round_trips():
    c2w = torch.eye(4)[:3].clone()
    c2w[:, 3] = torch.tensor([1.0, -2.0, 3.0])
    assert torch.allclose(one_camera(c2w).centers()[0], torch.tensor([1.0, -2.0, 3.0]), atol=1e-6)


def test_gaussian_lands_where_the_pinhole_model_says():
    """A Gaussian 2 units in front of an OpenGL camera (−z), 0.5 right and 0.25 up, appears at
    u = cx + fx·0.5/2, v = cy − fy·0.25/2 (image rows grow downward)."""
    params = splatfacto_params(torch.tensor([[0.5, 0.25, -2.0]]), log_scale=-4.0)
    camera = one_camera(torch.eye(4)[:3], cx=16.5, cy=12.5)
    out = render_splatfacto(params, camera, torch.zeros(3), sh_degree=3)
    assert out["rgb"].shape == (24, 32, 3) and out["accumulation"].shape == (24, 32, 1)
    assert out["depth"].shape == (24, 32, 1) and out["background"].shape == (3,)
    alpha = out["accumulation"][..., 0]
    v, u = divmod(int(alpha.argmax()), alpha.shape[1])
    # (u, v) = (16.5 + 10, 12.5 − 5): the centre of pixel (26, 7), pixel centres being at +0.5
    assert (u, v) == (26, 7)
    assert float(out["depth"][v, u, 0]) == pytest.approx(2.0, abs=1e-3)


def test_background_fills_uncovered_pixels():
    params = splatfacto_params(torch.tensor([[0.0, 0.0, -2.0]]), log_scale=-4.0)
    out = render_splatfacto(params, one_camera(torch.eye(4)[:3]), torch.tensor([0.2, 0.4, 0.6]), sh_degree=0)
    assert torch.allclose(out["rgb"][0, 0], torch.tensor([0.2, 0.4, 0.6]), atol=1e-5)


def test_gradients_reach_the_splatfacto_tensors():
    params = splatfacto_params(torch.tensor([[0.0, 0.0, -2.0], [0.2, 0.1, -2.5]]), log_scale=-2.5)
    params["features_dc"].requires_grad_(True)
    out = render_splatfacto(params, one_camera(torch.eye(4)[:3]), torch.zeros(3), sh_degree=3)
    out["rgb"].sum().backward()
    assert params["features_dc"].grad is not None and float(params["features_dc"].grad.abs().sum()) > 0


def test_scene_view_keeps_the_layout():
    params = splatfacto_params(torch.zeros(3, 3), degree=2)
    scene = splatfacto_scene(params)
    assert scene.sh_degree == 2 and scene.sh.shape == (3, 9, 3)
    assert torch.equal(scene.sh[:, 0], params["features_dc"]) and scene.opacity_logits.shape == (3,)
    del params["opacities"]
    with pytest.raises(KeyError, match="opacities"):
        splatfacto_scene(params)


def test_render_takes_one_camera():
    cams = one_camera(torch.eye(4)[:3])
    from stylize3d.cameras import cat_cameras

    with pytest.raises(ValueError, match="one camera"):
        render_splatfacto(splatfacto_params(torch.zeros(1, 3)), cat_cameras([cams, cams]), torch.zeros(3), 0)
