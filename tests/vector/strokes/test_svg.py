"""The vectorised SVG writer: number text, element layout, groups, and agreement with per-number formatting."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import torch

from tests.vector.strokes.test_render import _strokes
from vector.strokes.curves import Strokes, bezier_controls
from vector.strokes.svg import decimal_ascii, path_elements, svg_text

NS = "{http://www.w3.org/2000/svg}"


def _texts(matrix: np.ndarray) -> list:
    return [row[row != 0].tobytes().decode("ascii") for row in matrix]


def test_decimal_text_rounds_and_drops_trailing_zeros():
    values = [0, 3, 12.5, 12.499, 12.505001, -0.07, -0.004, 105, 99.999, 1234567.891, 0.1, -3.2]
    assert _texts(decimal_ascii(np.array(values), 2)) == ["0", "3", "12.5", "12.5", "12.51", "-0.07", "0", "105",
                                                          "100", "1234567.89", "0.1", "-3.2"]
    # ties go to even, as printf does
    assert _texts(decimal_ascii(np.array([0.7, 0.0625, 0.0626, 1.0]), 3)) == ["0.7", "0.062", "0.063", "1"]
    assert decimal_ascii(np.zeros(0), 2).shape[0] == 0


def test_path_elements_agree_with_per_number_formatting():
    # Random strokes of 1..6 points (negative and large coordinates included): every number in the output equals
    # the control point rounded to 2 decimals, in order, and each line is one well-formed element.
    g = torch.Generator().manual_seed(0)
    count = torch.randint(1, 7, (40,), generator=g)
    points = torch.rand(40, 6, 2, generator=g, dtype=torch.float64) * 3000 - 100
    strokes = Strokes(points, count, torch.rand(40, generator=g) * 9 + 0.5, torch.rand(40, 3, generator=g),
                      torch.where(torch.arange(40) % 2 == 0, 1.0, 0.35), torch.zeros(40, dtype=torch.long))
    text, offsets = path_elements(strokes)
    controls = bezier_controls(points, count).numpy()
    for i in range(40):
        line = text[offsets[i]:offsets[i + 1]].decode("ascii")
        element = ET.fromstring(line)
        d = element.get("d")
        n = int(count[i]) - 1
        expected = [points[i, 0, 0], points[i, 0, 1]] + (controls[i, :n, 1:].reshape(-1).tolist() if n else [0, 0])
        assert d.startswith("M") and ("C" in d) == (n > 0) and ("l0 0" in d) == (n == 0)
        got = [float(v) for v in re.findall(r"-?[\d.]+", d)]
        np.testing.assert_allclose(got, np.round(np.asarray(expected, dtype=np.float64), 2), atol=0.0051)
        assert element.get("stroke-opacity") == (None if i % 2 == 0 else "0.35")
        rgb = np.clip(np.rint(strokes.colour[i].numpy() * 255), 0, 255).astype(int)
        assert element.get("stroke") == "#%02x%02x%02x" % tuple(rgb)
        assert abs(float(element.get("stroke-width")) - 2 * float(strokes.radius[i])) <= 0.0005


def test_svg_groups_follow_the_layer_runs():
    s = _strokes()
    root = ET.fromstring(svg_text(s, 64, 64, (8, 4), background=(0, 0.5, 1)))
    assert root.find(f"{NS}rect").get("fill") == "#0080ff"
    groups = root.findall(f"{NS}g")
    assert [g.get("id") for g in groups] == ["brush-8", "brush-4"] and [len(g) for g in groups] == [2, 1]
    assert groups[0][1].get("d") == "M50.3 10.7l0 0"                 # the one-point stroke is a dot
    empty = Strokes(torch.zeros(0, 1, 2), torch.zeros(0, dtype=torch.long), torch.zeros(0), torch.zeros(0, 3),
                    torch.zeros(0), torch.zeros(0, dtype=torch.long))
    assert ET.fromstring(svg_text(empty, 8, 8, (4,))).findall(f"{NS}g") == []
