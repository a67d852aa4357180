"""Parsing: geometry, transforms, paints, gradients, links back to elements, skipped elements, bad input."""

import pytest
import torch

from core.errors import InputError
from tests.vector.conftest import SCENES
from vector.flatten import device_points, shape_to_device
from vector.model import Gradient, SolidPaint
from vector.svg import parse_svg

GROUPED = """<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 20 10">
  <title>t</title>
  <g id="g" transform="translate(2 1)" fill="#ff0000">
    <rect id="r" x="1" y="2" width="3" height="4"/>
    <path id="p" class="k" d="M0 0 Q 2 2 4 0" stroke="blue" stroke-width="0.5" fill="none" stroke-linejoin="round"/>
  </g>
</svg>"""


def test_bundled_palette_colours_and_structure():
    scene = parse_svg(SCENES / "palette.svg")
    assert (scene.width, scene.height) == (32, 32)
    assert len(scene.shapes) == 5
    first = scene.shapes[0]
    assert isinstance(first.fill, SolidPaint) and first.stroke is None
    assert torch.allclose(first.fill.rgb, torch.tensor([0xFB, 0xB8, 0xAB]) / 255.0)
    assert len(first.subpaths) == 2  # outline and the thumb hole
    for first_pt, n_seg, _closed in first.subpaths:
        assert first_pt + 3 * n_seg < first.points.shape[0] + 1


def test_geometry_stays_in_user_space_and_transform_maps_to_pixels():
    scene = parse_svg(GROUPED)
    rect = scene.shapes[0]
    assert rect.element.get("id") == "r"
    # user space: the rect's own corner (1, 2); viewBox scale 2 after translate(2, 1) -> pixel (6, 6)
    assert torch.allclose(rect.points[0], torch.tensor([1.0, 2.0]))
    pix = device_points(scene, shape_to_device(scene, 40, 20))
    assert torch.allclose(pix[0], torch.tensor([6.0, 6.0]))
    # rendering at another size scales the map
    pix2 = device_points(scene, shape_to_device(scene, 80, 40))
    assert torch.allclose(pix2[0], torch.tensor([12.0, 12.0]))


def test_quadratic_is_elevated_to_exact_cubic_and_paint_is_inherited():
    scene = parse_svg(GROUPED)
    rect, path = scene.shapes
    assert torch.allclose(rect.fill.rgb, torch.tensor([1.0, 0.0, 0.0]))
    assert path.fill is None and torch.allclose(path.stroke.rgb, torch.tensor([0.0, 0.0, 1.0]))
    assert float(path.stroke_width) == 0.5 and path.line_join == "round"
    p = path.points
    assert torch.allclose(p, torch.tensor([[0, 0], [4 / 3, 4 / 3], [8 / 3, 4 / 3], [4, 0]], dtype=torch.float32), atol=1e-6)


def test_gradients_are_read_from_xml_with_href_units_and_spread():
    scene = parse_svg(SCENES / "badge_gradient.svg")
    by_id = {s.element.get("id"): s for s in scene.shapes}
    sky = by_id["disc"].fill
    assert isinstance(sky, Gradient) and sky.kind == "linear" and sky.units == "objectBoundingBox"
    assert torch.allclose(sky.offsets, torch.tensor([0.0, 0.6, 1.0]))
    assert torch.allclose(sky.stop_rgb[0], torch.tensor([0x1E, 0x3C, 0x72]) / 255.0)
    sun = by_id["sun-disc"].fill
    assert sun.kind == "radial" and sun.units == "userSpaceOnUse"
    assert torch.allclose(sun.geometry, torch.tensor([44.0, 20, 10, 44, 20, 0]))
    stripes = by_id["band"].fill
    assert stripes.spread == "reflect" and stripes.element.get("id") == "stripes"
    assert stripes.stop_elements == sky.stop_elements  # stops inherited through xlink:href
    assert torch.allclose(stripes.geometry, torch.tensor([0.0, 0, 0.25, 0]))


def test_unsupported_elements_are_skipped_with_one_warning():
    text = """<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
      <clipPath id="c"><rect width="5" height="5"/></clipPath>
      <rect id="keep" width="4" height="4"/>
      <rect id="clipped" width="4" height="4" clip-path="url(#c)"/>
      <text x="1" y="8">hi</text></svg>"""
    with pytest.warns(UserWarning, match=r"not rendered.*clip-path.*text|not rendered.*text.*clip-path"):
        scene = parse_svg(text)
    ids = [s.element.get("id") for s in scene.shapes]
    assert "keep" in ids and "clipped" not in ids


def test_use_instances_are_frozen():
    text = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">
      <defs><circle id="dot" cx="2" cy="2" r="1"/></defs>
      <use xlink:href="#dot" x="3"/><rect id="free" width="2" height="2"/></svg>"""
    scene = parse_svg(text)
    frozen = {s.element.get("id"): s.frozen for s in scene.shapes}
    assert frozen == {"dot": True, "free": False}
    assert all(p is not scene.shapes[0].points for p in scene.parameters())


@pytest.mark.parametrize(
    "text, message",
    [
        ("<svg xmlns='http://www.w3.org/2000/svg'><rect", "not well-formed XML"),
        ("<html><body/></html>", "not an SVG file"),
        ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 0 10'/>", "zero or negative size"),
        ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 -5 10'/>", "zero or negative size"),
        ("<svg xmlns='http://www.w3.org/2000/svg' width='-3' height='4'/>", "negative width"),
        ("<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'><path d='M0 0 L NaN 3'/></svg>", "non-finite"),
        ("<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'><path d='M0 0 L 1e999 3'/></svg>", "non-finite"),
    ],
)
def test_bad_input_raises_input_error(text, message):
    with pytest.raises(InputError, match=message):
        parse_svg(text)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        parse_svg(tmp_path / "nope.svg")
