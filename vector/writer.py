"""Write a scene back into its source document, changing only what was optimised.

Each shape and gradient remembers its original values; an attribute is rewritten only when its tensor
moved. Element order, ids, groups, titles, comments and all other attributes are left as they were.
Geometry is written as cubic Béziers in the element's own user space; a ``rect``/``circle``/... whose
points moved becomes a ``path`` with the same attributes minus its geometric ones.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import torch

from core.atomic import atomic_output
from vector.model import Gradient, Scene, Shape, SolidPaint
from vector.svg_paint import local_name, style_properties

SHAPE_GEOMETRY = {
    "rect": ("x", "y", "width", "height", "rx", "ry"),
    "circle": ("cx", "cy", "r"),
    "ellipse": ("cx", "cy", "rx", "ry"),
    "line": ("x1", "y1", "x2", "y2"),
    "polyline": ("points",),
    "polygon": ("points",),
}
TOLERANCE = 1e-6


def fmt(value: float, decimals: int = 4) -> str:
    """Compact number: ``1.5000`` -> ``1.5``, ``-0.0`` -> ``0``."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def hex_color(rgb: torch.Tensor) -> str:
    """(3,) in [0, 1] -> ``#rrggbb``."""
    r, g, b = (int(round(float(c) * 255)) for c in rgb.detach().clamp(0, 1))
    return f"#{r:02x}{g:02x}{b:02x}"


def path_data(shape: Shape) -> str:
    """The shape's subpaths as ``M x,y C ... Z`` in its user space."""
    pts = shape.points.detach().cpu().double().tolist()
    out = []
    for first, n_seg, closed in shape.subpaths:
        p = pts[first]
        out.append(f"M{fmt(p[0])},{fmt(p[1])}")
        for s in range(n_seg):
            c = pts[first + 3 * s + 1 : first + 3 * s + 4]
            if closed and s == n_seg - 1:
                c[-1] = p
            out.append("C" + " ".join(f"{fmt(x)},{fmt(y)}" for x, y in c))
        if closed:
            out.append("Z")
    return "".join(out)


def _changed(now, before) -> bool:
    return before is not None and (now.detach().cpu() - before.cpu()).abs().max().item() > TOLERANCE


def set_property(element: ET.Element, name: str, value: str, document_has_css: bool, important: bool = False) -> None:
    """Set a presentation property where it will win: inline style if used there (or if CSS rules could
    override an attribute), else the attribute; ``!important`` inline when an ``!important`` rule sets it."""
    props = style_properties(element)
    if important or name in props or (name not in element.attrib and document_has_css):
        props[name] = value + (" !important" if important else "")
        element.set("style", ";".join(f"{k}:{v}" for k, v in props.items()))
    else:
        element.set(name, value)


def _write_geometry(shape: Shape) -> None:
    element = shape.element
    tag = local_name(element.tag)
    for attr in SHAPE_GEOMETRY.get(tag, ()):
        element.attrib.pop(attr, None)
    if tag != "path":
        element.tag = element.tag[: -len(tag)] + "path"
    element.set("d", path_data(shape))


def _write_shape(shape: Shape, css: bool) -> None:
    o, imp = shape.original, shape.important
    if _changed(shape.points, o["points"]):
        _write_geometry(shape)
    for prop, paint, opacity, key in (
        ("fill", shape.fill, shape.fill_opacity, "fill_opacity"),
        ("stroke", shape.stroke, shape.stroke_opacity, "stroke_opacity"),
    ):
        colour_moved = isinstance(paint, SolidPaint) and _changed(paint.rgb, o[prop])
        if colour_moved:
            set_property(shape.element, prop, hex_color(paint.rgb), css, prop in imp)
        if _changed(opacity, o[key]) or (colour_moved and float(opacity) < 1.0):
            set_property(shape.element, f"{prop}-opacity", fmt(float(opacity.clamp(0, 1))), css, f"{prop}-opacity" in imp)
    if _changed(shape.stroke_width, o["stroke_width"]):
        set_property(shape.element, "stroke-width", fmt(float(shape.stroke_width.clamp_min(0))), css, "stroke-width" in imp)
    if _changed(shape.opacity, o["opacity"]):
        set_property(shape.element, "opacity", fmt(float(shape.opacity.clamp(0, 1))), css, "opacity" in imp)


def _write_gradient(gradient: Gradient, css: bool) -> None:
    o = gradient.original
    if _changed(gradient.geometry, o["geometry"]):
        names = ("x1", "y1", "x2", "y2") if gradient.kind == "linear" else ("cx", "cy", "r", "fx", "fy", "fr")
        for name, value in zip(names, gradient.geometry.detach().tolist()):
            gradient.element.set(name, fmt(value, 5))
    for k, stop in enumerate(gradient.stop_elements):
        if _changed(gradient.offsets[k], o["offsets"][k]):
            stop.set("offset", fmt(float(gradient.offsets[k].clamp(0, 1)), 5))
        if _changed(gradient.stop_rgb[k], o["stop_rgb"][k]):
            set_property(stop, "stop-color", hex_color(gradient.stop_rgb[k]), css)
        if _changed(gradient.stop_opacity[k], o["stop_opacity"][k]):
            set_property(stop, "stop-opacity", fmt(float(gradient.stop_opacity[k].clamp(0, 1))), css)


def svg_text(scene: Scene) -> str:
    """The document with the scene's optimised values written in, as a string."""
    root = scene.document.tree.getroot()
    css = any(local_name(el.tag) == "style" for el in root.iter())
    for shape in scene.shapes:
        if not shape.frozen:
            _write_shape(shape, css)
    for gradient in scene.gradients:
        _write_gradient(gradient, css)
    for prefix, uri in scene.document.namespaces.items():
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:  # reserved ``ns\\d+`` prefixes: ElementTree picks its own
            pass
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def write_svg(scene: Scene, path: "str | os.PathLike") -> None:
    """Write :func:`svg_text` to ``path`` atomically."""
    text = svg_text(scene)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
