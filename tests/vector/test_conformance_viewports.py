"""Conformance, nested viewports: x/y/width/height, viewBox + preserveAspectRatio (every align, meet/slice),
percentages, overflow clipping, symbols instanced by use, deeply nested viewports."""

import pytest
import torch

from tests.vector.conformance import VIEWPORTS, check, doc
from vector.svg import parse_svg, view_box_transform


@pytest.mark.parametrize("case", VIEWPORTS, ids=[c.name for c in VIEWPORTS])
def test_viewport_case(case):
    check(case)


@pytest.mark.parametrize("align, slice_, expected", [
    ("xMinYMin", False, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)),
    ("xMidYMid", False, (1.0, 0.0, 0.0, 1.0, 10.0, 0.0)),
    ("xMaxYMax", False, (1.0, 0.0, 0.0, 1.0, 20.0, 0.0)),
    ("xMidYMid", True, (3.0, 0.0, 0.0, 3.0, 0.0, -10.0)),
    ("xMinYMax", True, (3.0, 0.0, 0.0, 3.0, 0.0, -20.0)),
    ("none", False, (3.0, 0.0, 0.0, 1.0, 0.0, 0.0)),
])
def test_view_box_transform_by_hand(align, slice_, expected):
    # a 10x10 viewBox into a 30x10 viewport: meet scales by 1 and centres/aligns in x, slice scales by 3
    assert view_box_transform((0.0, 0.0, 10.0, 10.0), (align, slice_), 30.0, 10.0) == pytest.approx(expected)


def test_nested_viewport_transform_and_clip_quad():
    scene = parse_svg(doc('<svg x="8" y="4" width="16" height="8" viewBox="10 10 4 4"><rect x="10" y="10" width="4" height="4"/></svg>'))
    shape = scene.shapes[0]
    # root: 2 px per unit; nested: translate(8, 4), meet scale 2 (8/4), centred in x by (16 - 8)/2, viewBox origin -10
    expected = torch.tensor([[4.0, 0.0, 2 * (8 + 4 - 20)], [0.0, 4.0, 2 * (4 - 20)]])
    assert torch.allclose(shape.transform, expected)
    assert torch.allclose(shape.clip, torch.tensor([[[16.0, 8.0], [48.0, 8.0], [48.0, 24.0], [16.0, 24.0]]]))


def test_overflow_visible_has_no_clip_and_symbol_instances_are_frozen():
    scene = parse_svg(doc('<svg width="8" height="8" overflow="visible"><rect width="20" height="20"/></svg>'
                          '<symbol id="s" viewBox="0 0 1 1"><rect width="1" height="1"/></symbol><use href="#s" width="4" height="4"/>'))
    visible, instance = scene.shapes
    assert visible.clip is None and not visible.frozen
    assert instance.frozen and instance.clip is not None and instance.element.get("width") == "1"
    assert len(scene.shapes) == 2  # the <symbol> itself is not drawn
