"""Conformance, CSS in <style>: selectors, specificity, !important, comments, currentColor, non-presentation
attributes; and the writer on documents styled by classes."""

import warnings
import xml.etree.ElementTree as ET

import pytest
import torch

from tests.vector.conformance import CSS, check, doc
from tests.vector.conftest import cairo_rgb, rgb_psnr
from vector.css import parse_selector, parse_stylesheet
from vector.svg import parse_svg
from vector.writer import svg_text


@pytest.mark.parametrize("case", CSS, ids=[c.name for c in CSS])
def test_css_case(case):
    check(case)


@pytest.mark.parametrize("selector, specificity", [
    ("*", (0, 0, 0)), ("rect", (0, 0, 1)), (".a", (0, 1, 0)), ("#x", (1, 0, 0)), ("g > rect.a.b", (0, 2, 2)),
    ("svg g rect[id]", (0, 1, 3)), ("#x:first-child", (1, 1, 0)), (":not(#y)", (1, 0, 0)), ("rect::before", (0, 0, 2)),
])
def test_specificity_by_hand(selector, specificity):
    assert parse_selector(selector).specificity == specificity


def test_stylesheet_parsing_drops_unsupported_selectors_only():
    rules, dropped = parse_stylesheet("/* x */ @font-face { src: url(a) } rect:nth-child(2), .ok { fill: red; stroke : blue !important }")
    assert dropped == ["rect:nth-child(2)"]
    assert len(rules) == 1 and rules[0].declarations == [("fill", "red", False), ("stroke", "blue", True)]


def test_unsupported_selector_is_warned_about():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_svg(doc("<style>rect:nth-child(2) { fill: red }</style><rect width='4' height='4'/>"))
    assert len(caught) == 1 and "rect:nth-child(2)" in str(caught[0].message)


CLASSY = doc("<style>.k { fill: #ff0000 } .s { stroke: #0000ff !important; stroke-width: 2 } #t { fill: #00ff00 }</style>"
             '<rect id="a" class="k s" x="2" y="2" width="12" height="12"/><rect id="t" class="k" x="18" y="2" width="12" height="12"/>')


def test_restyled_class_document_writes_a_valid_svg_where_the_new_values_win():
    scene = parse_svg(CLASSY)
    a, t = scene.shapes
    assert torch.allclose(t.fill.rgb, torch.tensor([0.0, 1.0, 0.0]))  # the id rule beats the class rule
    assert a.important == {"stroke"}
    a.fill.rgb.data[:] = torch.tensor([1.0, 1.0, 0.0])
    a.stroke.rgb.data[:] = torch.tensor([0.0, 0.0, 0.0])
    text = svg_text(scene)
    el = next(e for e in ET.fromstring(text).iter() if e.get("id") == "a")
    assert el.get("class") == "k s" and el.get("style") == "fill:#ffff00;stroke:#000000 !important"
    again = parse_svg(text)
    assert torch.allclose(again.shapes[0].fill.rgb, torch.tensor([1.0, 1.0, 0.0]))
    assert torch.allclose(again.shapes[0].stroke.rgb, torch.tensor([0.0, 0.0, 0.0]))
    # cairosvg (an independent reader) draws the written document with the new colours
    assert cairo_rgb(text, 64, 64)[16, 16].tolist() == [1.0, 1.0, 0.0]


def test_unchanged_css_document_round_trips_to_the_same_pixels():
    text = svg_text(parse_svg(CLASSY))
    assert rgb_psnr(cairo_rgb(text, 64, 64), cairo_rgb(CLASSY, 64, 64)) == float("inf")
