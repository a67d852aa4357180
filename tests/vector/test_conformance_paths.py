"""Conformance, paths and strokes: T/S reflection rules, arc flags without separators, zero-length subpaths
with caps, percentage and em stroke widths, transforms on line, path data errors."""

import pytest

from tests.vector.conformance import PATHS, check
from vector.pathdata import parse_path, parse_transform


@pytest.mark.parametrize("case", PATHS, ids=[c.name for c in PATHS])
def test_path_case(case):
    check(case)


def test_smooth_commands_reflect_only_after_their_own_family():
    # T after C: no reflection, the control point is the current point (a straight quadratic)
    pts, subs, error = parse_path("M0 0 C0 10 10 10 10 0 T20 0")
    assert error is None and subs == [(0, 2, False)]
    assert pts[4] == pytest.approx((10.0, 0.0)) and pts[5] == pytest.approx((40 / 3, 0.0))
    # S after S reflects the previous second control point
    pts, _, _ = parse_path("M0 0 S10 10 20 0 S40 10 40 0")
    assert pts[1] == (0.0, 0.0) and pts[4] == pytest.approx((30.0, -10.0))


def test_arc_flags_and_errors():
    pts, subs, error = parse_path("M0 0a5 5 0 1010 0")  # flags "1" "0" then "10 0"
    assert error is None and pts[-1] == pytest.approx((10.0, 0.0)) and len(subs) == 1
    assert parse_path("M0 0 L1 1 L2")[2] is not None and parse_path("M0 0 L1 1 L2")[1] == [(0, 1, False)]
    assert parse_path("M1 1 z")[1] == [(0, 1, True)]  # a zero-length closed subpath is kept for caps


@pytest.mark.parametrize("text, expected", [
    ("translate(2 3) scale(2)", (2.0, 0.0, 0.0, 2.0, 2.0, 3.0)),
    ("rotate(90 1 1)", (0.0, 1.0, -1.0, 0.0, 2.0, 0.0)),
    ("matrix(1,0,0,1,5,6)skewX(45)", (1.0, 0.0, 1.0, 1.0, 5.0, 6.0)),
])
def test_transform_lists(text, expected):
    assert parse_transform(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["rotate(30", "scale()", "translate(1 2 3)", "shear(2)", "scale(1) junk", "rotate(1e309)",
                                  "scale(1e200) scale(1e200)"])
def test_malformed_transform_lists_are_none(text):
    assert parse_transform(text) is None
