"""Restyler pieces: Xing loss values, k-means palettes, parameter bounds, and a short run lowering the style loss."""

import math

import pytest
import torch

from core.config import replace_fields

from core.errors import InputError
from core.io.images import load_image
from tests.vector.conftest import SCENES
from vector.palette import kmeans_colours
from vector.params import SceneParams
from vector.regularizers import xing_loss
from vector.restyle import RestyleConfig, restyle_scene
from vector.svg import parse_svg


def test_xing_loss_is_one_for_a_looped_cubic_and_zero_for_c_and_s_curves():
    loop = torch.tensor([[[0.0, 0], [10, 10], [0, 10], [10, 0]]])
    c_curve = torch.tensor([[[0.0, 0], [0, 10], [10, 10], [10, 0]]])
    s_curve = torch.tensor([[[0.0, 0], [5, 10], [5, -10], [10, 0]]])
    assert xing_loss(loop).item() == pytest.approx(1.0)
    assert xing_loss(c_curve).item() == pytest.approx(0.0)
    assert xing_loss(s_curve).item() == pytest.approx(0.0)


def test_kmeans_recovers_three_colour_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.2, 0.9]])
    pixels = torch.cat([c + 0.02 * torch.randn(200, 3, generator=g) for c in centres])
    found = kmeans_colours(pixels, 3)
    assert torch.cdist(centres, found).amin(1).max() < 0.02


def test_projection_keeps_points_widths_and_colours_in_bounds():
    scene = parse_svg(SCENES / "house_group.svg")
    params = SceneParams(scene, ("points", "colors", "widths", "opacity"), 48, 48, max_shift_px=2.0)
    with torch.no_grad():
        for leaf in params.leaves:
            leaf.fill_(1e4)
    params.project()
    params.finish()
    scale = 2.0 * 0.9  # viewBox 24 -> 48 px, then the group's scale(0.9)
    for shape, original in zip(scene.shapes, parse_svg(SCENES / "house_group.svg").shapes):
        shift_px = (shape.points - original.points).norm(dim=-1).max().item() * (scale if shape.element.get("id") != "ground" else 2.0)
        assert shift_px <= 2.0 + 1e-3
        if shape.stroke is not None:
            assert float(shape.stroke_width) == pytest.approx(2.0 * float(original.stroke_width), rel=1e-4)
        if shape.fill is not None and hasattr(shape.fill, "rgb"):
            assert shape.fill.rgb.max() <= 1.0 and shape.fill.rgb.min() >= 0.0
        assert 0.0 <= float(shape.fill_opacity) <= 1.0


@pytest.mark.parametrize("style_loss, ratio", [("gram", 0.9), ("meanstd", 0.9), ("nnfm", 0.99)])
def test_a_short_run_lowers_the_style_loss_and_keeps_the_document_structure(style_loss, ratio):
    scene = parse_svg(SCENES / "palette.svg")
    style = load_image(SCENES.parent / "images" / "starry_night.jpg", long_side=64)
    result = restyle_scene(scene, style, replace_fields(RestyleConfig, size=48, steps=8, crops=0, kind=style_loss), progress=False)
    assert result.stylization.final["style"] < ratio * result.stylization.initial["style"]
    assert math.isfinite(result.stylization.final["content"])
    assert len(scene.shapes) == 5 and all(not s.points.requires_grad for s in scene.shapes)


def test_nothing_to_optimise_is_an_input_error():
    only_instances = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="9" height="9">'
                      '<defs><circle id="c" cx="3" cy="3" r="2"/></defs><use xlink:href="#c"/><use xlink:href="#c" x="4"/></svg>')
    scene = parse_svg(only_instances)
    assert len(scene.shapes) == 2 and all(s.frozen for s in scene.shapes)
    with pytest.raises(InputError, match="nothing to optimise"):
        restyle_scene(scene, torch.rand(1, 3, 32, 32), replace_fields(RestyleConfig, size=32, steps=1), progress=False)


def test_restyle_svg_takes_paths_and_changes_only_the_colours_when_asked(tmp_path):
    from vector import restyle_svg, write_svg

    result = restyle_svg(SCENES / "palette.svg", SCENES.parent / "images" / "starry_night.jpg", size=48, steps=8,
                         optimize=("colors",), crops=0)
    original = parse_svg(SCENES / "palette.svg")
    assert result.stylization.final["style"] < 0.9 * result.stylization.initial["style"]
    assert len(result.scene.shapes) == len(original.shapes) == 5
    assert all(torch.equal(a.points, b.points) for a, b in zip(result.scene.shapes, original.shapes))
    moved = [float((a.fill.rgb - b.fill.rgb).abs().max()) for a, b in zip(result.scene.shapes, original.shapes)]
    assert max(moved) > 0.05
    write_svg(result.scene, tmp_path / "out.svg")
    written = torch.stack([s.fill.rgb for s in parse_svg(tmp_path / "out.svg").shapes])
    assert torch.allclose(written, torch.stack([s.fill.rgb for s in result.scene.shapes]), atol=1 / 255)


def test_restyle_svg_restyles_a_parsed_scene_in_place_with_a_tensor_style():
    from vector import restyle_svg

    scene = parse_svg(SCENES / "palette.svg")
    config = replace_fields(RestyleConfig, size=32, steps=2, crops=0)
    result = restyle_svg(scene, torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)), config=config,
                         palette=3)
    assert result.scene is scene and result.palette.shape == (3, 3)
    with pytest.raises(TypeError, match="no field"):
        restyle_svg(scene, torch.rand(1, 3, 32, 32), stepz=2)
