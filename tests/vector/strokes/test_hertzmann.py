"""Hertzmann 1998 placement: layers, stroke directions, flat images, seeds, parameter checks."""

import math

import pytest
import torch

from core.errors import InputError
from vector.strokes.hertzmann import (UNPAINTED, gaussian_blur, grid_starts, jitter_colours, make_spline_strokes,
                                      paint, sobel_gradient)
from vector.strokes.presets import PRESETS, PaintStyle
from vector.strokes.svg import svg_text


def _photo(h=48, w=64, seed=0):
    """Smooth colour blobs plus a hard-edged square: detail at every brush size."""
    g = torch.Generator().manual_seed(seed)
    img = torch.nn.functional.interpolate(torch.rand(1, 3, h // 8, w // 8, generator=g), size=(h, w), mode="bicubic")
    img[:, :, h // 4: h // 2, w // 4: w // 2] = torch.tensor([0.9, 0.1, 0.1])[:, None, None]
    return img.clamp(0, 1)


def test_canvas_error_falls_layer_by_layer():
    p = paint(_photo(), PRESETS["impressionist"], seed=0)
    assert len(p.errors) == 3 and all(c > 0 for c in p.stroke_counts)
    assert p.errors[0] > p.errors[1] > p.errors[2]


def test_stroke_follows_a_straight_edge():
    # An anti-aliased edge through the image centre at 30 degrees: a stroke started on it runs along it.
    h = w = 96
    angle = math.radians(30)
    y, x = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    signed = -(x - w / 2) * math.sin(angle) + (y - h / 2) * math.cos(angle)
    img = torch.sigmoid(signed)[None, None].expand(1, 3, h, w).contiguous()
    style = PRESETS["impressionist"]
    ref = gaussian_blur(img, 2.0)
    dist = torch.full((h, w), UNPAINTED)
    points, count, _ = make_spline_strokes(torch.tensor([[h // 2, w // 2]]), 4.0, ref[0], dist, ref[0],
                                           sobel_gradient(ref), style)
    assert int(count[0]) > 8
    d = points[0, int(count[0]) - 1] - points[0, 0]
    direction = math.degrees(math.atan2(float(d[1]), float(d[0]))) % 180
    assert abs(direction - 30) < 3


def test_constant_image_gives_one_layer_of_large_strokes():
    img = torch.tensor([0.2, 0.5, 0.7])[None, :, None, None].expand(1, 3, 40, 56).contiguous()
    p = paint(img, PRESETS["impressionist"])
    assert p.stroke_counts[0] == 5 * 7 and p.stroke_counts[1:] == [0, 0]
    assert torch.all(p.strokes.radius == 8) and torch.all(p.strokes.count == 1)   # no gradient: round dabs
    torch.testing.assert_close(p.canvas, img[0], atol=1e-5, rtol=0)


def test_seed_reproduces_exactly_and_changes_with_seed():
    style = PRESETS["expressionist"]
    a, b, c = (paint(_photo(), style, seed=s) for s in (5, 5, 6))
    for name in ("points", "count", "colour", "radius", "opacity", "layer"):
        assert torch.equal(getattr(a.strokes, name), getattr(b.strokes, name))
    assert torch.equal(a.canvas, b.canvas)
    assert svg_text(a.strokes, 64, 48, a.radii) == svg_text(b.strokes, 64, 48, b.radii)
    assert not torch.equal(a.strokes.colour, c.strokes.colour)


def test_grid_starts_pick_each_cells_largest_error():
    error = torch.tensor([[0.0, 1, 0, 0, 9],
                          [5, 0, 0, 2, 0],
                          [0, 0, 0, 0, 0]])
    starts = grid_starts(error, 2, threshold=1.0)
    # cells: (0,0) mean 1.5 -> (1,0); (0,1) mean 0.5 -> none; (0,2) partial [9, 0] mean 4.5 -> (0,4); row 1: zeros
    assert starts.tolist() == [[1, 0], [0, 4]]


def test_jitter_stays_in_range_and_zero_jitter_is_identity():
    g = torch.Generator().manual_seed(0)
    colours = torch.rand(200, 3, generator=g)
    assert torch.equal(jitter_colours(colours, PRESETS["impressionist"], g), colours)
    out = jitter_colours(colours, PRESETS["pointillist"], g)
    assert out.min() >= 0 and out.max() <= 1 and (out - colours).abs().max() > 0.1


@pytest.mark.parametrize("change, message", [
    ({"brushes": ()}, "--brushes is empty"),
    ({"brushes": (2, 4)}, "largest first"),
    ({"brushes": (0,)}, "out of range"),
    ({"threshold": -1.0}, "--threshold -1.0 is out of range"),
    ({"curvature": float("nan")}, "--curvature nan"),
    ({"opacity": 0.0}, "--opacity"),
    ({"min_length": 20, "max_length": 10}, "larger than --max-length"),
])
def test_bad_parameters_are_refused(change, message):
    with pytest.raises(InputError, match=message):
        PaintStyle(**change).validate()


def test_paper_presets():
    assert PRESETS["impressionist"].threshold == 100 and PRESETS["impressionist"].brushes == (8, 4, 2)
    assert PRESETS["expressionist"].opacity == 0.7 and PRESETS["expressionist"].curvature == 0.25
    assert PRESETS["colorist-wash"].threshold == 200 and PRESETS["colorist-wash"].jitter_r == 0.3
    assert PRESETS["pointillist"].brushes == (4, 2) and PRESETS["pointillist"].max_length == 0
