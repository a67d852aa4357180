"""Gradients through the new features agree with central finite differences (the test_raster_grad check):
clipped nested viewports, zero-length caps, CSS-styled paints, em/percent widths, radial fr, dashes."""

import pytest

from tests.vector.test_raster_grad import _check, _loss_fn
from vector.svg import parse_svg

SCENE = """<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">
  <style>.k { fill: #3060c0 } stop.s { stop-color: #f0c020 }</style>
  <defs><radialGradient id="r" cx="0.5" cy="0.5" r="0.5" fr="0.15"><stop offset="0" stop-color="#802010"/><stop class="s" offset="1"/></radialGradient></defs>
  <svg x="2" y="2" width="10" height="10" viewBox="0 0 5 5"><circle class="k" cx="2.5" cy="2.5" r="3"/></svg>
  <path d="M18 5 L18 5" stroke="#104020" stroke-width="0.5em" font-size="8" stroke-linecap="round"/>
  <path d="M18 13 z" stroke="#402010" stroke-width="20%" stroke-linecap="square"/>
  <rect x="3" y="14" width="9" height="8" fill="url(#r)"/>
  <path d="M14 19 C 16 15, 20 15, 22 21" fill="none" stroke="#205020" stroke-width="1.5" stroke-dasharray="2.5 1" stroke-linejoin="round"/>
</svg>"""


def _scene():
    return parse_svg(SCENE)


def test_point_of_a_clipped_shape():
    scene = _scene()
    _check(scene.shapes[0].points, (9, 1), _loss_fn(scene), eps=0.004)  # the circle's bottom, inside the clip


def test_css_class_colour():
    scene = _scene()
    _check(scene.shapes[0].fill.rgb, (2,), _loss_fn(scene), eps=0.02)


@pytest.mark.parametrize("shape", [1, 2])
def test_width_of_zero_length_dots(shape):
    scene = _scene()
    _check(scene.shapes[shape].stroke_width, (), _loss_fn(scene), eps=0.05)


def test_radial_focal_radius_and_css_stop():
    scene = _scene()
    grad = scene.shapes[3].fill
    _check(grad.geometry, (5,), _loss_fn(scene), eps=0.01)
    _check(grad.stop_rgb, (1, 0), _loss_fn(scene), eps=0.02)


@pytest.mark.parametrize("index", [(1, 1), (3, 0)])
def test_points_and_width_of_a_dashed_stroke(index):
    scene = _scene()
    _check(scene.shapes[4].points, index, _loss_fn(scene), eps=0.004)
    _check(scene.shapes[4].stroke_width, (), _loss_fn(scene), eps=0.05)
