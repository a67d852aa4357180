"""Writer: unchanged round trips keep semantics and structure; edits touch only optimised attributes."""

import xml.etree.ElementTree as ET

import pytest
import torch

from tests.vector.conftest import BUNDLED, cairo_rgb, rgb_psnr
from vector.flatten import device_points, shape_to_device
from vector.svg import parse_svg
from vector.writer import svg_text, write_svg

DOC = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="40" height="40" viewBox="0 0 20 20">
  <title>doc</title>
  <!-- a comment -->
  <g id="layer1" inkscape:label="Layer 1" transform="rotate(15 10 10) translate(1 0)">
    <rect id="r" class="box" x="2" y="3" width="6" height="5" rx="1" fill="#336699" stroke="#000000" stroke-width="0.5"/>
    <circle id="c" cx="14" cy="12" r="3" style="fill:#aa2200;opacity:0.9"/>
  </g>
  <path id="p" d="M1 18 L 19 18" stroke="#00ff00" stroke-width="1"/>
</svg>"""


def _structure(text):
    root = ET.fromstring(text)
    return [(el.tag, el.get("id"), el.get("{http://www.inkscape.org/namespaces/inkscape}label")) for el in root.iter() if isinstance(el.tag, str)]


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_unchanged_round_trip_is_identical(path):
    original = path.read_text()
    scene = parse_svg(path, warn=False)
    written = svg_text(scene)
    again = parse_svg(written, warn=False)
    assert len(again.shapes) == len(scene.shapes)
    for a, b in zip(scene.shapes, again.shapes):
        assert torch.equal(a.points, b.points) and torch.equal(a.transform, b.transform)
    assert _structure(written) == _structure(original)
    assert rgb_psnr(cairo_rgb(written, 64, 64), cairo_rgb(path, 64, 64)) == float("inf")


def test_structure_comments_and_namespaces_survive_edits():
    scene = parse_svg(DOC)
    scene.shapes[1].fill.rgb.data[:] = torch.tensor([0.0, 1.0, 0.0])
    text = svg_text(scene)
    assert _structure(text) == _structure(DOC)
    assert "<!-- a comment -->" in text and "<title>doc</title>" in text
    assert 'inkscape:label="Layer 1"' in text


def test_only_the_changed_attribute_is_written():
    scene = parse_svg(DOC)
    before = {el.get("id"): dict(el.attrib) for el in ET.fromstring(DOC).iter() if el.get("id")}
    rect, circle, _line = scene.shapes
    rect.fill.rgb.data[:] = torch.tensor([1.0, 0.5, 0.0])
    circle.fill.rgb.data[:] = torch.tensor([0.0, 0.0, 1.0])
    after = {el.get("id"): dict(el.attrib) for el in ET.fromstring(svg_text(scene)).iter() if el.get("id")}
    assert after["r"] == {**before["r"], "fill": "#ff8000"}
    # a colour given in the inline style is updated there, nothing else changes
    assert after["c"] == {**before["c"], "style": "fill:#0000ff;opacity:0.9"}
    assert after["p"] == before["p"] and after["layer1"] == before["layer1"]


def test_moved_points_are_written_in_user_space_as_cubics():
    scene = parse_svg(DOC)
    rect = scene.shapes[0]
    rect.points.data += torch.tensor([0.5, -0.25])
    rect.stroke_width.data.fill_(0.75)
    expected = device_points(scene, shape_to_device(scene, 40, 40))[: rect.points.shape[0]]
    text = svg_text(scene)
    el = next(e for e in ET.fromstring(text).iter() if e.get("id") == "r")
    assert el.tag.endswith("path") and el.get("class") == "box" and el.get("fill") == "#336699"
    assert not {"x", "y", "width", "height", "rx"} & set(el.attrib)
    assert el.get("stroke-width") == "0.75"
    d = el.get("d")
    assert d.startswith("M3.5,2.75C") and d.endswith("Z") and set(d) - set("MCZ0123456789.,- ") == set()
    again = parse_svg(text)
    got = device_points(again, shape_to_device(again, 40, 40))[: again.shapes[0].points.shape[0]]
    assert torch.allclose(got, expected, atol=1e-3)  # same pixels: the group transform is untouched


def test_gradient_stops_written_to_stop_elements(tmp_path):
    from tests.vector.conftest import SCENES

    scene = parse_svg(SCENES / "badge_gradient.svg")
    sky = scene.shapes[0].fill
    sky.stop_rgb.data[1] = torch.tensor([1.0, 0.0, 0.0])
    out = tmp_path / "o.svg"
    write_svg(scene, out)
    again = parse_svg(out)
    assert torch.allclose(again.shapes[0].fill.stop_rgb[1], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(again.shapes[0].fill.stop_rgb[0], sky.stop_rgb[0])
    assert out.read_text().count('stop-color="#ff0000"') == 1
    assert [p.name for p in tmp_path.iterdir()] == ["o.svg"]  # atomic: no temporary left behind
