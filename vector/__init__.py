"""SVG front end: parse an SVG into tensors linked to its elements, rasterize it differentiably, restyle it
after a painting, and write it back with only the optimised attributes changed; and brush-stroke paintings
of photos (Hertzmann 1998) written as editable SVGs (:mod:`vector.strokes`).

    from vector import paint, parse_svg, render, restyle_svg, write_svg
    scene = parse_svg("logo.svg")
    image = render(scene, 256, 256)          # 1,4,H,W premultiplied RGBA in [0,1]
    result = restyle_svg(scene, "starry_night.jpg", size=128, steps=50)
    write_svg(result.scene, "logo_out.svg")
    paint("photo.jpg", "impressionist", size=256).write_svg("painting.svg")

The names below are imported on first use, so ``import vector`` stays cheap (no torch).
"""

import importlib

_EXPORTS = {"parse_svg": "vector.svg", "render": "vector.raster", "svg_text": "vector.writer",
            "write_svg": "vector.writer", "restyle_svg": "vector.restyle", "paint": "vector.strokes.painter"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vector' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
