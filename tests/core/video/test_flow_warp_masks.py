"""Flow, warping and Ruder masks against known values."""

import pytest
import torch
import torch.nn.functional as F

from core.video.flow import estimate_flow, forward_backward_flow
from core.video.masks import consistency_weights, long_term_weights, motion_boundary_mask, occlusion_mask
from core.video.warp import backward_warp, inside_frame


def constant_flow(dx: float, dy: float, h: int = 16, w: int = 20) -> torch.Tensor:
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


def smooth_texture(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Random texture blurred to a few-pixel scale, ``1,3,h,w`` in [0,1]."""
    noise = torch.rand(1, 3, h // 4, w // 4, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(noise, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def test_integer_flow_shifts_pixels_exactly():
    image = torch.rand(1, 3, 16, 20)
    warped = backward_warp(image, constant_flow(2, 1))
    assert torch.allclose(warped[..., :-1, :-2], image[..., 1:, 2:], atol=1e-6)


def test_half_pixel_flow_interpolates_a_ramp_linearly():
    ramp = torch.arange(20.0).view(1, 1, 1, 20).expand(1, 1, 16, 20).contiguous()
    warped = backward_warp(ramp, constant_flow(0.5, 0))
    assert torch.allclose(warped[..., :-1], ramp[..., :-1] + 0.5, atol=1e-5)


def test_warp_gradients_match_finite_differences():
    image = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    flow = (torch.rand(1, 2, 5, 6, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(backward_warp, (image, flow), eps=1e-6, atol=1e-5)


def test_inside_frame_marks_samples_from_outside():
    mask = inside_frame(constant_flow(3, 0))
    assert mask[..., :, :17].eq(1).all() and mask[..., :, 17:].eq(0).all()


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_recovers_a_known_translation(method):
    scene = smooth_texture(96, 128)
    current, previous = scene[..., 8:72, 8:104], scene[..., 6:70, 11:107]  # previous = current moved by (+3, -2)
    flow = estimate_flow(current, previous, method)
    interior = flow[..., 8:-8, 8:-8]
    assert float(interior[:, 0].median()) == pytest.approx(-3, abs=0.3)
    assert float(interior[:, 1].median()) == pytest.approx(2, abs=0.3)
    error = (backward_warp(previous, flow) - current)[..., 8:-8, 8:-8].abs().mean()
    assert float(error) < 0.5 * float((previous - current)[..., 8:-8, 8:-8].abs().mean())


def test_forward_backward_flows_are_opposite_for_a_translation():
    scene = smooth_texture(96, 128, seed=1)
    a, b = scene[..., 8:72, 8:104], scene[..., 8:72, 10:106]  # b(p) = a(p + 2), so a(p) = b(p − 2)
    forth, back = forward_backward_flow(a, b)
    assert float(forth[:, 0, 8:-8, 8:-8].median()) == pytest.approx(-2, abs=0.3)
    assert float(back[:, 0, 8:-8, 8:-8].median()) == pytest.approx(2, abs=0.3)


def test_occlusion_mask_flags_exactly_the_inconsistent_pixels():
    back, forth = constant_flow(2, 0), constant_flow(-2, 0)
    assert occlusion_mask(back, forth).sum() == 0
    forth[..., 4:8, 6:10] = 2.0  # these previous-frame pixels claim to move the wrong way
    mask = occlusion_mask(back, forth)
    expected = torch.zeros(1, 1, 16, 20)
    expected[..., 4:8, 4:8] = 1  # p + (2, 0) lands in the bad block for x in 4..7
    assert torch.equal(mask, expected)


def test_occlusion_threshold_grows_with_flow_magnitude():
    # |w + ŵ|² = 0.64 exceeds 0.5 for small flow but not for large flow (0.01·(|w|²+|ŵ|²) adds 2·0.01·20²)
    assert occlusion_mask(constant_flow(1, 0), constant_flow(-0.2, 0)).all()
    assert not occlusion_mask(constant_flow(20, 0, w=64), constant_flow(-19.2, 0, w=64))[..., :40].any()


def test_motion_boundary_only_at_the_flow_step():
    flow = torch.zeros(1, 2, 8, 10)
    flow[:, 0, :, 5:] = 5.0
    mask = motion_boundary_mask(flow)
    assert mask[..., 4].eq(1).all() and mask.sum() == 8


def test_consistency_weights_combine_masks():
    back, forth = constant_flow(0, 0), constant_flow(0, 0)
    back[:, 0, :, 10:] = 1.0  # right part moved by one pixel: a motion boundary at column 9
    forth[:, 0, :, 11:] = -1.0  # consistent with it everywhere
    assert occlusion_mask(back, forth)[..., :19].sum() == 0
    weights = consistency_weights(back, forth)
    assert weights[..., 9].eq(0).all()  # motion boundary
    assert weights[..., 19].eq(0).all()  # sampled from outside the frame
    assert weights[..., :9].eq(1).all() and weights[..., 10:19].eq(1).all()
    assert torch.equal(consistency_weights(back, forth, boundary_weight=0.5)[..., 9], torch.full((1, 1, 16), 0.5))


def test_long_term_weights_keep_only_the_nearest_visible_neighbour():
    c1, c2, c4 = torch.tensor([1.0, 0, 1, 0]), torch.tensor([1.0, 1, 0, 0]), torch.tensor([1.0, 1, 1, 1])
    out = long_term_weights([c1, c2, c4])
    assert [o.tolist() for o in out] == [[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]


def test_nearest_and_bicubic_modes():
    image = torch.rand(1, 3, 16, 20)
    assert torch.equal(backward_warp(image, constant_flow(0.4, -0.4), mode="nearest"), image)
    shifted = backward_warp(image, constant_flow(2, 1), mode="bicubic")
    assert torch.allclose(shifted[..., :-1, :-2], image[..., 1:, 2:], atol=1e-5)
    with pytest.raises(ValueError, match="warp mode"):
        backward_warp(image, constant_flow(0, 0), mode="lanczos")
