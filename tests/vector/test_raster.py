"""Rasterizer: parity with cairosvg, alpha convention, supersampling, memory guard."""

import pytest
import torch

from core.errors import InputError
from tests.vector.conftest import BUNDLED, cairo_rgb, rgb_psnr
from tests.vector.features import FEATURES
from vector.raster import render
from vector.svg import parse_svg


def _ours(scene, w, h, **kw):
    return render(scene, w, h, background=(1.0, 1.0, 1.0), **kw)[0, :3].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_bundled_matches_cairosvg(path):
    scene = parse_svg(path, warn=False)
    for size in (48, 128):
        assert rgb_psnr(_ours(scene, size, size), cairo_rgb(path, size, size)) >= 30.0


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_feature_matches_cairosvg(name):
    text = FEATURES[name]
    assert rgb_psnr(_ours(parse_svg(text), 64, 64), cairo_rgb(text, 64, 64)) >= 30.0


def test_premultiplied_alpha_and_transparent_background():
    scene = parse_svg('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="4" fill="#ff8000" fill-opacity="0.5"/></svg>')
    img = render(scene, 8, 8)
    assert img.shape == (1, 4, 8, 8)
    assert torch.allclose(img[0, :, 1, 3], torch.tensor([0.5, 0.5 * 128 / 255, 0.0, 0.5]), atol=1e-6)
    assert torch.equal(img[0, :, 6], torch.zeros(4, 8))


def test_supersampling_agrees_with_single_sample():
    scene = parse_svg(FEATURES["cubic_quad_arc"])
    one = _ours(scene, 64, 64)
    four = _ours(scene, 64, 64, samples=2)
    assert rgb_psnr(one, four) > 30.0


def test_edge_coverage_is_the_area_of_an_axis_aligned_pixel():
    scene = parse_svg('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="3.25" height="8"/></svg>')
    alpha = render(scene, 8, 8)[0, 3, 4]
    assert torch.allclose(alpha, torch.tensor([1, 1, 1, 0.25, 0, 0, 0, 0.0]), atol=1e-6)


def test_empty_scene_renders_transparent():
    scene = parse_svg('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"></svg>')
    assert torch.equal(render(scene, 5, 4), torch.zeros(1, 4, 4, 5))


def test_too_complex_scene_is_refused_with_a_message():
    paths = "".join(f'<circle cx="{i % 100 * 5 + 2}" cy="{i // 100 * 5 + 2}" r="2"/>' for i in range(2000))
    scene = parse_svg(f'<svg xmlns="http://www.w3.org/2000/svg" width="500" height="100">{paths}</svg>')
    from vector import raster

    limit = raster.MAX_PAIR_PIXELS
    raster.MAX_PAIR_PIXELS = 100_000
    try:
        with pytest.raises(InputError, match="too complex"):
            render(scene, 500, 100)
    finally:
        raster.MAX_PAIR_PIXELS = limit
