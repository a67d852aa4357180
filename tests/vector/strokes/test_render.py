"""The stroke rasterizer: exact coverage on a straight stroke, parity with cairosvg, gradients."""

import numpy as np
import pytest
import torch

from tests.vector.conftest import cairo_rgb, rgb_psnr
from vector.strokes.curves import Strokes, bezier_controls, sample_curves
from vector.strokes.render import composite, coverage, fragments
from vector.strokes.svg import svg_text


def _strokes(dtype=torch.float32):
    pts = torch.tensor([[[10.0, 10], [30, 12], [40, 30], [30, 50], [30, 50]],        # curve, padded
                        [[50.3, 10.7]] * 5,                                          # a dot
                        [[5, 55], [60, 40], [10, 30], [10, 30], [10, 30]]], dtype=dtype)  # a sharp bend
    return Strokes(pts, torch.tensor([4, 1, 3]), torch.tensor([4.0, 6.0, 3.0], dtype=dtype),
                   torch.tensor([[1.0, 0, 0], [0, 0.5, 1], [0.2, 0.8, 0.1]], dtype=dtype),
                   torch.tensor([1.0, 0.7, 0.6], dtype=dtype), torch.tensor([0, 0, 1]))


def test_straight_stroke_coverage_is_the_exact_distance_ramp():
    # A straight two-point stroke: coverage must be clamp(R + 0.5 - d, 0, 1) with d the distance to the segment,
    # one fragment per pixel (the quads tile the outline without overlap).
    pts = torch.tensor([[[7.3, 9.1], [27.8, 20.4]]])
    s = Strokes(pts, torch.tensor([2]), torch.tensor([3.2]), torch.ones(1, 3), torch.ones(1), torch.zeros(1, dtype=torch.long))
    frag, geometry = fragments(s, 32, 40)
    assert frag.pixel.unique().numel() == frag.pixel.numel()
    got = torch.zeros(32 * 40).index_put((frag.pixel,), coverage(frag, geometry)).reshape(32, 40).numpy()
    y, x = np.mgrid[0:32, 0:40] + 0.5
    a, b = pts[0, 0].numpy(), pts[0, 1].numpy()
    t = np.clip(((x - a[0]) * (b[0] - a[0]) + (y - a[1]) * (b[1] - a[1])) / ((b - a) ** 2).sum(), 0, 1)
    d = np.hypot(x - a[0] - t * (b[0] - a[0]), y - a[1] - t * (b[1] - a[1]))
    np.testing.assert_allclose(got, np.clip(3.2 + 0.5 - d, 0, 1), atol=1e-5)


def test_curve_sampling_passes_through_control_points():
    s = _strokes()
    samples, n = sample_curves(s.points, s.count, per_segment=3)
    assert n.tolist() == [10, 1, 7]
    torch.testing.assert_close(samples[0, ::3][:4], s.points[0, :4])
    assert bezier_controls(s.points, s.count).shape == (3, 4, 4, 2)


def test_render_matches_cairosvg():
    s = _strokes()
    mine = composite(s, 64, 64, torch.ones(3, 64, 64)).permute(1, 2, 0).numpy()
    ref = cairo_rgb(svg_text(s, 64, 64, (8, 4)), 64, 64)
    assert rgb_psnr(mine, ref) >= 30


def test_render_gradients_match_finite_differences():
    s = _strokes(torch.float64)
    s.opacity = torch.tensor([0.9, 0.7, 0.6], dtype=torch.float64)
    params = {n: getattr(s, n).clone().requires_grad_(True) for n in ("points", "radius", "colour", "opacity")}
    weights = torch.rand(3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(3))

    def loss(**p):
        t = Strokes(p["points"], s.count, p["radius"], p["colour"], p["opacity"], s.layer)
        return (composite(t, 64, 64, torch.full((3, 64, 64), 0.5, dtype=torch.float64)) * weights).sum()

    loss(**params).backward()
    eps = 1e-5
    checks = [("points", (0, 1, 0)), ("points", (0, 2, 1)), ("points", (2, 1, 0)), ("radius", (0,)),
              ("radius", (1,)), ("colour", (2, 1)), ("opacity", (1,)), ("opacity", (0,))]
    for name, idx in checks:
        values = {n: v.detach().clone() for n, v in params.items()}
        values[name][idx] += eps
        up = loss(**values)
        values[name][idx] -= 2 * eps
        down = loss(**values)
        numeric = float((up - down) / (2 * eps))
        analytic = float(params[name].grad[idx])
        assert analytic == pytest.approx(numeric, rel=2e-3, abs=1e-4), (name, idx)
