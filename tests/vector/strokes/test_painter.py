"""``vector.paint``: a photo path or tensor painted in one call, written as an SVG of strokes."""

import xml.etree.ElementTree as ET

import pytest
import torch

from core.errors import InputError
from tests.conftest import write_png
from vector import paint
from vector.strokes import hertzmann
from vector.strokes.presets import PRESETS

SVG = "{http://www.w3.org/2000/svg}"


def test_a_path_is_read_at_size_and_painted_like_the_painter_does(tmp_path):
    photo = write_png(tmp_path / "photo.png", height=40, width=56)
    painting = paint(photo, "expressionist", size=28, brushes=(6, 3), seed=3)
    assert painting.canvas.shape == (3, 20, 28) and painting.radii == (6, 3)
    from core.io.images import load_image

    same = hertzmann.paint(load_image(photo, long_side=28), PRESETS["expressionist"].replace(brushes=(6, 3)), seed=3)
    assert torch.equal(painting.strokes.points, same.strokes.points) and torch.equal(painting.canvas, same.canvas)


def test_write_svg_writes_one_group_per_brush(tmp_path):
    painting = paint(torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0)), brushes=(4, 2),
                     threshold=10)
    painting.write_svg(tmp_path / "p.svg")
    root = ET.parse(tmp_path / "p.svg").getroot()
    assert (root.get("width"), root.get("height")) == ("32", "24")
    assert [g.get("id") for g in root.findall(f"{SVG}g")] == ["brush-4", "brush-2"]
    assert len(root.findall(f".//{SVG}path")) == len(painting.strokes)


def test_unknown_styles_and_bad_fields_are_refused():
    photo = torch.rand(1, 3, 24, 32)
    with pytest.raises(InputError, match="unknown painting style"):
        paint(photo, "cubist")
    with pytest.raises(InputError, match="largest first"):
        paint(photo, brushes=(2, 8))
