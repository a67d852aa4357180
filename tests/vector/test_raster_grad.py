"""Gradients of the rasterizer agree with central finite differences (relative error < 5%)."""

import pytest
import torch

from vector.raster import render
from vector.svg import parse_svg

SCENE = """<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24">
  <defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#204080"/><stop offset="1" stop-color="#f0c020"/></linearGradient></defs>
  <path d="M3 4 C 10 1, 16 8, 20 5 L 19 19 C 12 22, 8 15, 4 18 Z" fill="#c04020" stroke="#103060" stroke-width="2" stroke-linejoin="miter"/>
  <rect x="6" y="9" width="11" height="6" fill="url(#g)" fill-opacity="0.9"/>
  <polyline points="2,22 8,14 14,21" fill="none" stroke="#208040" stroke-width="1.5" stroke-linejoin="bevel" stroke-linecap="square"/>
</svg>"""


def _loss_fn(scene):
    weights = torch.rand(1, 4, 24, 24, generator=torch.Generator().manual_seed(0))
    return lambda: (render(scene, 24, 24) * weights).sum()


def _check(tensor, index, loss, eps):
    tensor.requires_grad_(True)
    tensor.grad = None
    loss().backward()
    analytic = tensor.grad[index].item()
    with torch.no_grad():
        original = tensor[index].item()
        tensor[index] = original + eps
        plus = loss().item()
        tensor[index] = original - eps
        minus = loss().item()
        tensor[index] = original
    numeric = (plus - minus) / (2 * eps)
    assert abs(numeric) > 1e-3, "the parameter must influence the picture"
    assert abs(analytic - numeric) <= 0.05 * abs(numeric), (analytic, numeric)


@pytest.mark.parametrize("index", [(1, 0), (1, 1), (2, 1), (3, 0), (3, 1), (6, 0)])
def test_control_points(index):
    scene = parse_svg(SCENE)
    _check(scene.shapes[0].points, index, _loss_fn(scene), eps=0.004)


def test_polyline_vertex_of_a_stroke():
    scene = parse_svg(SCENE)
    _check(scene.shapes[2].points, (3, 1), _loss_fn(scene), eps=0.004)


@pytest.mark.parametrize("shape, paint", [(0, "fill"), (0, "stroke"), (2, "stroke")])
def test_colours(shape, paint):
    scene = parse_svg(SCENE)
    _check(getattr(scene.shapes[shape], paint).rgb, (1,), _loss_fn(scene), eps=0.02)


@pytest.mark.parametrize("shape", [0, 2])
def test_stroke_widths(shape):
    scene = parse_svg(SCENE)
    _check(scene.shapes[shape].stroke_width, (), _loss_fn(scene), eps=0.05)


def test_gradient_stop_colour_offset_and_opacity():
    scene = parse_svg(SCENE)
    grad = scene.shapes[1].fill
    loss = _loss_fn(scene)
    _check(grad.stop_rgb, (0, 2), loss, eps=0.02)
    _check(grad.stop_rgb, (1, 0), loss, eps=0.02)
    _check(scene.shapes[1].fill_opacity, (), loss, eps=0.02)


def test_gradient_geometry():
    scene = parse_svg(SCENE)
    _check(scene.shapes[1].fill.geometry, (2,), _loss_fn(scene), eps=0.02)


GROUPED = """<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24">
  <g opacity="0.6"><rect x="3" y="3" width="12" height="12" fill="#2050c0"/>
  <g opacity="0.7"><circle cx="14" cy="14" r="7" fill="#e04010" stroke="#203040" stroke-width="1.5"/></g></g>
</svg>"""


@pytest.mark.parametrize("shape, attr, index, eps", [(0, "fill", (2,), 0.02), (1, "fill", (0,), 0.02), (1, "stroke", (1,), 0.02)])
def test_colours_inside_opacity_groups(shape, attr, index, eps):
    scene = parse_svg(GROUPED)
    _check(getattr(scene.shapes[shape], attr).rgb, index, _loss_fn(scene), eps=eps)


def test_points_inside_opacity_groups():
    scene = parse_svg(GROUPED)
    _check(scene.shapes[1].points, (1, 0), _loss_fn(scene), eps=0.004)


def test_paints_at_their_bounds_still_get_gradients():
    """Black strokes and fully opaque fills must be able to move (torch's clamp has a zero gradient at 0 and 1)."""
    scene = parse_svg('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">'
                      '<rect x="2" y="2" width="12" height="12" fill="#ffffff" stroke="#000000" stroke-width="2"/></svg>')
    rect = scene.shapes[0]
    for t in (rect.fill.rgb, rect.stroke.rgb, rect.fill_opacity):
        t.requires_grad_(True)
    image = render(scene, 16, 16, background=(0.5, 0.5, 0.5))
    image[:, :3].sum().backward()
    assert (rect.stroke.rgb.grad > 0).all() and (rect.fill.rgb.grad > 0).all()
    assert rect.fill_opacity.grad.abs() > 0
