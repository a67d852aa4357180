"""Conformance, paint servers: href inheritance between linear and radial gradients, cycles, zero/one stop,
offsets, gradientTransform errors, radial fr and focal correction, r <= 0, zero-size bounding boxes,
currentColor/inherit/CSS in stops."""

import warnings

import pytest
import torch

from tests.vector.conformance import PAINT_SERVERS, check, doc
from vector.model import Gradient
from vector.svg import parse_svg


@pytest.mark.parametrize("case", PAINT_SERVERS, ids=[c.name for c in PAINT_SERVERS])
def test_paint_server_case(case):
    check(case)


def test_inheritance_across_kinds_takes_shared_attributes_and_stops_only():
    scene = parse_svg(doc('<linearGradient id="l" x1="0.3" gradientUnits="userSpaceOnUse" spreadMethod="reflect" gradientTransform="scale(2)">'
                          '<stop offset="0" stop-color="#f00"/><stop offset="1" stop-color="#00f"/></linearGradient>'
                          '<radialGradient id="r" href="#l" cx="16"/><rect width="8" height="8" fill="url(#r)"/>'))
    g = scene.shapes[0].fill
    assert isinstance(g, Gradient) and g.kind == "radial" and g.units == "userSpaceOnUse" and g.spread == "reflect"
    assert torch.allclose(g.transform, torch.tensor([[2.0, 0, 0], [0, 2.0, 0]]))
    # cx own; cy, r default in user space (viewport 32 x 32: 50%, 50% of sqrt((32²+32²)/2)); fx = cx, fy = cy
    assert torch.allclose(g.geometry, torch.tensor([16.0, 16.0, 16.0, 16.0, 16.0, 0.0]))
    assert [s.get("stop-color") for s in g.stop_elements] == ["#f00", "#00f"]


def test_stop_colours_use_the_cascade_and_the_gradient_colour():
    scene = parse_svg(doc('<style>stop.a { stop-color: currentColor; stop-opacity: 50% }</style>'
                          '<g color="#00ff00"><linearGradient id="g"><stop class="a" offset="0"/><stop offset="1" stop-color="inherit"/></linearGradient></g>'
                          '<rect width="8" height="8" fill="url(#g)" color="#ff0000"/>'))
    g = scene.shapes[0].fill
    assert torch.allclose(g.stop_rgb, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))  # inherit: the gradient's initial black
    assert torch.allclose(g.stop_opacity, torch.tensor([0.5, 1.0]))


@pytest.mark.parametrize("defs, message", [
    ('<linearGradient id="g"/>', "has no <stop> elements"),
    ('<radialGradient id="g" r="-1"><stop offset="0"/></radialGradient>', "negative radius"),
    ('<linearGradient id="g" gradientTransform="matrix(1 2 2 4 0 0)"><stop offset="0"/></linearGradient>', "non-invertible"),
])
def test_gradients_in_error_paint_nothing_with_a_warning(defs, message):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = parse_svg(doc(defs + '<rect width="8" height="8" fill="url(#g)" stroke="black"/>'))
    assert scene.shapes[0].fill is None and scene.shapes[0].stroke is not None
    assert len(caught) == 1 and "<" in str(caught[0].message) and "id='g'" in str(caught[0].message) and message in str(caught[0].message)
    assert scene.gradients == []
