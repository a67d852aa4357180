"""The optional diffvg backend: a clear error without pydiffvg; parity with the torch backend with it."""

import importlib.util

import pytest

from core.errors import InputError
from tests.vector.conftest import SCENES, rgb_psnr
from vector.raster import render
from vector.svg import parse_svg

HAVE_DIFFVG = importlib.util.find_spec("pydiffvg") is not None


@pytest.mark.skipif(HAVE_DIFFVG, reason="pydiffvg is installed")
def test_missing_pydiffvg_is_a_clear_input_error():
    with pytest.raises(InputError, match="needs pydiffvg"):
        render(parse_svg(SCENES / "palette.svg"), 32, 32, backend="diffvg")


@pytest.mark.skipif(not HAVE_DIFFVG, reason="pydiffvg is not installed (not on the package registry; build from source)")
def test_diffvg_matches_torch_backend_on_fills():
    scene = parse_svg(SCENES / "palette.svg")
    ours = render(scene, 64, 64, background=(1, 1, 1))[0, :3].permute(1, 2, 0).detach().numpy()
    theirs = render(scene, 64, 64, background=(1, 1, 1), backend="diffvg")[0, :3].permute(1, 2, 0).detach().numpy()
    assert rgb_psnr(ours, theirs) >= 30.0


def test_unknown_backend():
    with pytest.raises(InputError, match="unknown backend"):
        render(parse_svg(SCENES / "palette.svg"), 8, 8, backend="skia")
