"""Conformance, rect/circle/ellipse geometry: CSS units, viewport percentages, rx/ry auto rules, invalid lengths."""

import warnings

import pytest
import torch

from tests.vector.conformance import GEOMETRY, check, doc
from vector.svg import parse_svg
from vector.units import LengthContext, resolve_font_size, resolve_length


@pytest.mark.parametrize("case", GEOMETRY, ids=[c.name for c in GEOMETRY])
def test_geometry_case(case):
    check(case)


@pytest.mark.parametrize("text, expected", [
    ("12", 12.0), ("12px", 12.0), ("1in", 96.0), ("2.54cm", 96.0), ("25.4mm", 96.0), ("4q", 96.0 / 25.4), ("3pt", 4.0),
    ("1pc", 16.0), ("2em", 20.0), ("2ex", 10.0), ("2ch", 10.0), ("1ic", 10.0), ("1cap", 7.0), ("1lh", 15.0), ("1rem", 8.0),
    ("50%", 20.0), ("1e1", 10.0), (".5", 0.5), ("+3", 3.0), ("-2em", -20.0),
])
def test_lengths_resolve_by_hand(text, expected):
    ctx = LengthContext(font_size=10.0, root_font_size=8.0, line_height=15.0, viewport=(40.0, 30.0))
    assert resolve_length(text, ctx, "x") == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "abc", "12 px", "1e", "12furlong", "--1", "1.2.3"])
def test_invalid_lengths_are_none(text):
    assert resolve_length(text, LengthContext(), "x") is None


def test_percent_axes_and_font_sizes():
    ctx = LengthContext(viewport=(30.0, 40.0))
    assert resolve_length("10%", ctx, "x") == pytest.approx(3.0)
    assert resolve_length("10%", ctx, "y") == pytest.approx(4.0)
    assert resolve_length("10%", ctx, "xy") == pytest.approx(0.1 * (1250.0 ** 0.5))
    assert resolve_font_size("150%", 10.0, 16.0) == pytest.approx(15.0)
    assert resolve_font_size("larger", 10.0, 16.0) == pytest.approx(12.0)
    assert resolve_font_size("2rem", 10.0, 16.0) == pytest.approx(32.0)
    assert resolve_font_size("-3px", 10.0, 16.0) is None


def test_rounded_rect_corners_are_exact():
    scene = parse_svg(doc('<rect x="2" y="2" width="28" height="20" rx="30"/>'))
    pts = scene.shapes[0].points
    # rx clamped to 14 and ry = rx clamped to 10: the outline starts at (x + rx, y) and reaches (x + w, y + ry)
    assert torch.allclose(pts[0], torch.tensor([16.0, 2.0]))
    assert torch.allclose(pts.amax(0), torch.tensor([30.0, 22.0])) and torch.allclose(pts.amin(0), torch.tensor([2.0, 2.0]))
    assert any(torch.allclose(p, torch.tensor([30.0, 12.0])) for p in pts)


def test_invalid_values_warn_once_naming_the_element():
    text = doc('<rect id="bad" x="2" y="2" width="-28" height="20" rx="-1"/><circle cx="16" cy="16" r="4"/>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = parse_svg(text)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "<rect id='bad'>" in messages[0] and "negative width '-28': not rendered" in messages[0]
    assert [s.element.get("cx") for s in scene.shapes] == ["16"]  # the rest of the document is drawn
    assert scene.problems == {"<rect id='bad'>": ["negative width '-28': not rendered"]}
