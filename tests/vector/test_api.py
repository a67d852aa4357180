"""``vector``'s top level: its names are imported on first use and are the library's own functions."""

import pytest

import vector


def test_the_exported_names_are_the_modules_functions():
    from vector.raster import render
    from vector.restyle import restyle_svg
    from vector.strokes.painter import paint
    from vector.svg import parse_svg
    from vector.writer import svg_text, write_svg

    assert (vector.parse_svg, vector.render, vector.svg_text, vector.write_svg, vector.restyle_svg, vector.paint) == (
        parse_svg, render, svg_text, write_svg, restyle_svg, paint)
    assert vector.__all__ == sorted(["paint", "parse_svg", "render", "restyle_svg", "svg_text", "write_svg"])


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import():
    with pytest.raises(AttributeError, match="no attribute 'restyle_svgs'"):
        vector.restyle_svgs
    from vector import pathdata

    assert pathdata.__name__ == "vector.pathdata"
