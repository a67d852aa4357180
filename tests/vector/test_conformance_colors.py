"""Conformance, colours and opacity: rgb() floats/percentages, hsl() clamping, #rgba, fallbacks, opacity
percentages, inherit chains, invalid values."""

import pytest

from tests.vector.conformance import COLORS, check
from vector.svg_paint import InvalidColor, color_value


@pytest.mark.parametrize("case", COLORS, ids=[c.name for c in COLORS])
def test_colour_case(case):
    check(case)


@pytest.mark.parametrize("text, rgb, alpha", [
    ("#abc", (0xAA, 0xBB, 0xCC), 1.0), ("#11223380", (0x11, 0x22, 0x33), 128 / 255), ("rgb(255, 128, 0)", (255, 128, 0), 1.0),
    ("rgb(100%, 50%, 0%)", (255, 127.5, 0), 1.0), ("rgb(10.5 20 30 / 0.25)", (10.5, 20, 30), 0.25), ("rgba(0,0,0,150%)", (0, 0, 0), 1.0),
    ("hsl(0, 100%, 50%)", (255, 0, 0), 1.0), ("hsl(0.5turn 100% 50%)", (0, 255, 255), 1.0), ("hsl(120deg, 0%, 50%)", (127.5, 127.5, 127.5), 1.0),
    ("hsla(240, 100%, 50%, 40%)", (0, 0, 255), 0.4), ("transparent", (0, 0, 0), 0.0), ("aliceblue", (240, 248, 255), 1.0),
    ("RebeccaPurple", (102, 51, 153), 1.0), ("Red", (255, 0, 0), 1.0),
])
def test_colour_values_by_hand(text, rgb, alpha):
    got_rgb, got_alpha = color_value(text)
    assert got_rgb == pytest.approx(tuple(c / 255 for c in rgb)) and got_alpha == pytest.approx(alpha)


@pytest.mark.parametrize("text", ["qwerty", "#12", "#12345", "rgb(1, 2)", "rgb(a, b, c)", "hsl(1, 2, 3, 4, 5)", "url(#x)", "",
                                  "rgb(300,-5,nan)", "rgba(0, 0, 0, inf)"])
def test_invalid_colours_raise(text):
    with pytest.raises(InvalidColor):
        color_value(text)
