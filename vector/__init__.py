"""SVG front end: parse an SVG into tensors linked to its elements, rasterize it differentiably, restyle it
after a painting, and write it back with only the optimised attributes changed.

    from vector import parse_svg, render, write_svg
    scene = parse_svg("logo.svg")
    image = render(scene, 256, 256)          # 1,4,H,W premultiplied RGBA in [0,1]
    write_svg(scene, "logo_out.svg")
"""

from vector.raster import render
from vector.svg import parse_svg
from vector.writer import svg_text, write_svg

__all__ = ["parse_svg", "render", "svg_text", "write_svg"]
