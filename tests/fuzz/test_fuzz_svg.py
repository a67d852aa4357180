"""Fuzzing the SVG reader (vector.svg.parse_svg) and the rasterizer behind it, seeded from scenes/svg/*.svg.

Mutations: bytes; attributes (path data, transforms, numbers, colours, references); structure (duplicated,
removed and wrapped elements, deep nesting, ``use`` chains); gradients (hostile stops, ``href`` cycles); style
sheets. A parsed scene must hold finite geometry and render at a small size without error.
"""

import functools
import math
import xml.etree.ElementTree as ET

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError
from vector.raster import render
from vector.svg import MAX_DEPTH, MAX_INSTANCES, parse_svg
from tests.fuzz.harness import (DEEP, HOSTILE_NUMBER_TEXT, SCENES, check_reader, examples, mutated_bytes,
                                mutated_numbers, write_input)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
SEEDS = sorted(p.name for p in (SCENES / "svg").glob("*.svg"))
RENDER_SIDE = 24


@functools.lru_cache(maxsize=None)
def seed(name: str) -> bytes:
    return (SCENES / "svg" / name).read_bytes()


def _valid(scene) -> None:
    assert math.isfinite(scene.width) and math.isfinite(scene.height) and scene.width > 0 and scene.height > 0
    for shape in scene.shapes:
        assert torch.isfinite(shape.points).all()
    scale = RENDER_SIDE / max(scene.width, scene.height)
    w, h = max(1, round(scene.width * scale)), max(1, round(scene.height * scale))
    with torch.no_grad():
        image = render(scene, w, h, background=(1.0, 1.0, 1.0))
    assert image.shape == (1, 4, h, w) and torch.isfinite(image).all()


def _parse(data: "bytes | str"):
    return check_reader(parse_svg, write_input("fuzz.svg", data), valid=_valid, warn=False)


# ------------------------------------------------------------------------------------------ strategies

number_text = st.one_of(st.sampled_from(HOSTILE_NUMBER_TEXT[:-1]), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                        st.integers(-10 ** 6, 10 ** 6).map(str))
path_data = st.lists(st.tuples(st.sampled_from(list("MmLlHhVvCcSsQqTtAaZz")), st.lists(number_text, max_size=8),
                               st.sampled_from([" ", ",", "", "  ,"])), max_size=12).map(
    lambda cmds: " ".join(c + sep.join(nums) for c, nums, sep in cmds))
transform = st.lists(st.tuples(st.sampled_from(["matrix", "translate", "scale", "rotate", "skewX", "skewY", "bogus"]),
                               st.lists(number_text, max_size=7)), max_size=4).map(
    lambda ts: " ".join(f"{name}({' '.join(args)})" for name, args in ts))
colour = st.sampled_from(["red", "#fff", "#12345", "#zzzzzz", "rgb(300,-5,nan)", "rgba(1,2,3,9)", "hsl(400,200%,50%)",
                          "url(#sky)", "url(#missing) red", "url(#disc)", "url(#", "currentColor", "none", "inherit",
                          "transparent", "", "icc-color(x)"])
ATTRIBUTES = {
    "d": path_data, "transform": transform, "gradientTransform": transform, "points": st.lists(number_text, max_size=9).map(" ".join),
    "fill": colour, "stroke": colour, "stop-color": colour, "color": colour,
    "x": number_text, "y": number_text, "width": number_text, "height": number_text, "cx": number_text,
    "cy": number_text, "r": number_text, "rx": number_text, "ry": number_text, "x1": number_text, "x2": number_text,
    "fx": number_text, "offset": st.one_of(number_text, number_text.map(lambda t: t + "%")),
    "opacity": number_text, "fill-opacity": number_text, "stroke-width": number_text, "stroke-miterlimit": number_text,
    "viewBox": st.lists(number_text, max_size=5).map(" ".join),
    "style": st.sampled_from(["fill:red;stroke:blue", "fill:url(#sky)", "opacity:nan", "stroke-width:1e309", ";;;:",
                              "fill", "clip-path:url(#c)", "font-size:1e30px", "display:none"]),
    "href": st.sampled_from(["#sky", "#stripes", "#disc", "#self", "#", "", "http://example.invalid/x.svg#a", "data:,"]),
    "gradientUnits": st.sampled_from(["userSpaceOnUse", "objectBoundingBox", "bogus"]),
    "spreadMethod": st.sampled_from(["pad", "reflect", "repeat", "bogus"]),
    "fill-rule": st.sampled_from(["evenodd", "nonzero", "bogus"]),
    "stroke-linejoin": st.sampled_from(["miter", "round", "bevel", "arcs", "bogus"]),
}
STYLE_SHEETS = ["rect { fill: red }", "* { stroke-width: nan }", "#disc { fill: url(#sun) }", "{{{{", "@import url(x.css);",
                ".a { fill: " + "x" * 10000 + " }", "circle { transform: scale(1e308) }", "path{fill:none;stroke:red}",
                "@media print { rect { fill: blue } }", "g > * + * ~ * { opacity: 0.5 }"]


def _elements(root):
    return [el for el in root.iter() if isinstance(el.tag, str)]


@st.composite
def mutated_svg(draw, max_edits: int = 3):
    """A seed SVG with 1..``max_edits`` XML-level edits."""
    root = ET.fromstring(seed(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(1, max_edits))):
        elements = _elements(root)
        target = draw(st.sampled_from(elements))
        kind = draw(st.sampled_from(["attr", "attr", "attr", "duplicate", "remove", "wrap", "gradient", "style", "use"]))
        parent = next((p for p in elements if target in list(p)), None)
        if kind == "attr":
            name = draw(st.sampled_from(sorted(ATTRIBUTES)))
            key = f"{{{XLINK}}}href" if name == "href" and draw(st.booleans()) else name
            target.set(key, draw(ATTRIBUTES[name]))
        elif kind == "duplicate" and parent is not None:
            index = list(parent).index(target)
            for _ in range(draw(st.sampled_from([1, 2, 20]))):
                parent.insert(index, ET.fromstring(ET.tostring(target)))
        elif kind == "remove" and parent is not None:
            parent.remove(target)
        elif kind == "wrap" and parent is not None:
            index = list(parent).index(target)
            parent.remove(target)
            inner = outer = ET.Element(f"{{{SVG_NS}}}g", {"transform": draw(transform)})
            for _ in range(draw(st.integers(0, 40))):
                inner = ET.SubElement(inner, f"{{{SVG_NS}}}g")
            inner.append(target)
            parent.insert(index, outer)
        elif kind == "gradient":
            tag = draw(st.sampled_from(["linearGradient", "radialGradient"]))
            gradient = ET.SubElement(root, f"{{{SVG_NS}}}{tag}", {"id": draw(st.sampled_from(["self", "g2", "sky"]))})
            for name in draw(st.lists(st.sampled_from(["x1", "x2", "fx", "r", "cx", "gradientTransform", "gradientUnits",
                                                        "spreadMethod", "href"]), max_size=4)):
                gradient.set(name, draw(ATTRIBUTES[name]))
            for _ in range(draw(st.integers(0, 4))):
                ET.SubElement(gradient, f"{{{SVG_NS}}}stop", {"offset": draw(ATTRIBUTES["offset"]),
                                                              "stop-color": draw(colour)})
            target.set("fill", f"url(#{gradient.get('id')})")
        elif kind == "style":
            style = ET.Element(f"{{{SVG_NS}}}style")
            style.text = draw(st.sampled_from(STYLE_SHEETS))
            root.insert(0, style)
        elif kind == "use":
            ids = [el.get("id") for el in elements if el.get("id")] or ["none"]
            use = ET.SubElement(root, f"{{{SVG_NS}}}use", {"href": "#" + draw(st.sampled_from(ids)),
                                                          "x": draw(number_text), "transform": draw(transform)})
            if draw(st.booleans()):
                use.set("id", "self")
                use.set("href", "#self")
    return ET.tostring(root)


# ------------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("name", SEEDS)
def test_seeds_parse_and_render(name):
    scene = _parse(seed(name))
    assert not isinstance(scene, Exception) and scene.shapes


@pytest.mark.parametrize("name", SEEDS)
@examples(4)
@given(data=st.data())
def test_svg_byte_mutations(name, data):
    _parse(data.draw(mutated_bytes(seed(name))))


@pytest.mark.parametrize("name", SEEDS)
@examples(4)
@given(data=st.data())
def test_svg_number_edits(name, data):
    _parse(data.draw(mutated_numbers(seed(name))))


@examples(60)
@given(data=mutated_svg())
def test_svg_structure_attribute_gradient_and_style_edits(data):
    _parse(data)


@examples(20)
@given(d=path_data)
def test_svg_path_data(d):
    _parse(f'<svg xmlns="{SVG_NS}" width="10" height="10"><path d="{d}" fill="red" stroke="blue"/></svg>')


@examples(20)
@given(t=transform, inner=transform)
def test_svg_transforms(t, inner):
    _parse(f'<svg xmlns="{SVG_NS}" width="10" height="10"><g transform="{t}"><rect width="4" height="4" '
           f'transform="{inner}"/></g></svg>')


def test_use_chain_that_multiplies_elements_is_refused():
    """Ten levels of ten ``use`` each would expand to 10^10 shapes (a "use bomb"): refused at once, no hang."""
    defs = ['<rect id="l0" width="1" height="1"/>']
    for level in range(1, 11):
        defs.append(f'<g id="l{level}">' + f'<use href="#l{level - 1}"/>' * 10 + "</g>")
    error = _parse(f'<svg xmlns="{SVG_NS}" width="10" height="10"><defs>{"".join(defs)}</defs><use href="#l10"/></svg>')
    assert isinstance(error, InputError) and f"more than {MAX_INSTANCES} elements drawn through <use>" in str(error)


@pytest.mark.parametrize("body", ['<g id="a"><use href="#a"/></g>', '<use id="u" href="#u"/>',
                                  '<g id="a"><use href="#b"/></g><g id="b"><use xlink:href="#a"/></g>'])
def test_use_cycles_end(body):
    _parse(f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK}" width="10" height="10">{body}<rect width="2" height="2"/></svg>')


@pytest.mark.parametrize("depth", [2_000, DEEP])
def test_deep_group_nesting_is_refused(depth):
    text = f'<svg xmlns="{SVG_NS}" width="10" height="10">' + "<g>" * depth + '<rect width="4" height="4"/>' + \
        "</g>" * depth + "</svg>"
    error = _parse(text)
    assert isinstance(error, InputError) and f"nested deeper than {MAX_DEPTH} levels" in str(error)
