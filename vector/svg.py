"""Parse an SVG file into a :class:`vector.model.Scene`.

The XML is read with ElementTree (kept for the writer); every element is tagged with a temporary index
attribute and the tagged text is parsed by svgelements (``reify=False``), which resolves CSS, ``use``,
inheritance, the viewBox and each element's accumulated transform. The index links every parsed shape
back to its XML element. Geometry stays in the element's own user space (``transformed=False``): the
accumulated transform is kept beside it, so the writer never has to undo it.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path as FsPath

import torch
from svgelements import SVG, Arc, Close, CubicBezier, Line, Move, Path, QuadraticBezier, Shape as SvgShape, Text

from core.errors import InputError
from vector.limits import MAX_REACH, check_expansion
from vector.model import Document, Scene, Shape, SolidPaint
from vector.paint import (
    local_name,
    paint_reference,
    parse_color,
    parse_number,
    property_value,
    read_gradient,
)

INDEX_ATTR = "data-stylize-index"
GEOMETRY_ATTRS = ("d", "points", "x", "y", "width", "height", "cx", "cy", "r", "rx", "ry", "x1", "y1", "x2", "y2", "transform")
UNSUPPORTED_PROPS = ("clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end", "marker")
MAX_BYTES = 50_000_000
_NONFINITE = re.compile(r"(?i)(nan|inf)")


def _read_source(source) -> tuple:
    """(bytes, name) from a path, bytes or an SVG string."""
    if isinstance(source, bytes):
        return source, "<bytes>"
    if isinstance(source, str) and source.lstrip().startswith("<"):
        return source.encode("utf-8"), "<string>"
    path = FsPath(source)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise InputError(f"{path}: file larger than {MAX_BYTES // 1_000_000} MB")
    return path.read_bytes(), str(path)


def _namespaces(data: bytes) -> dict:
    """Prefix -> URI of every namespace declared in the document (registered for writing)."""
    found = {}
    for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
        found.setdefault(prefix, uri)
    return found


def _parse_xml(data: bytes, name: str) -> tuple:
    try:
        namespaces = _namespaces(data)
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
        root = ET.fromstring(data, parser=parser)
    except (ET.ParseError, LookupError) as err:  # LookupError: an unknown encoding in the XML declaration
        raise InputError(f"{name}: not well-formed XML ({err})") from None
    if local_name(root.tag) != "svg":
        raise InputError(f"{name}: not an SVG file (root element is <{local_name(root.tag) or root.tag}>)")
    return ET.ElementTree(root), namespaces


def _check_viewport(root: ET.Element, name: str) -> None:
    box = root.get("viewBox")
    if box is not None:
        parts = box.replace(",", " ").split()
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise InputError(f"{name}: viewBox {box!r} is not four numbers")
        if values[2] <= 0 or values[3] <= 0:
            raise InputError(f"{name}: viewBox {box!r} has a zero or negative size")
    for attr in ("width", "height"):
        value = root.get(attr)
        if value is not None and value.strip().startswith("-"):
            raise InputError(f"{name}: negative {attr} {value!r}")
        if value is not None and _NONFINITE.search(value):
            raise InputError(f"{name}: {attr} {value!r} is not a finite number")


def _points_of(element: SvgShape, name: str) -> tuple:
    """Cubic control points (N, 2) and subpaths [(first, n_segments, closed)] in user space."""
    pts, subpaths = [], []
    start = first = None
    n_seg = 0

    def finish(closed):
        nonlocal n_seg
        if first is not None and n_seg > 0:
            subpaths.append((first, n_seg, closed))
        n_seg = 0

    def add_cubic(p0, c1, c2, p1):
        nonlocal first, n_seg
        if n_seg == 0:
            first = len(pts)
            pts.append(p0)
        pts.extend([c1, c2, p1])
        n_seg += 1

    def add_line(p0, p1):
        dx, dy = p1[0] - p0[0], p1[1] - p0[1]
        add_cubic(p0, (p0[0] + dx / 3, p0[1] + dy / 3), (p0[0] + 2 * dx / 3, p0[1] + 2 * dy / 3), p1)

    xy = lambda p: (float(p[0]), float(p[1]))  # noqa: E731
    try:
        segments = list(Path(element).segments(transformed=False))
    except (ValueError, TypeError, IndexError) as err:  # svgelements re-reads path data strictly here
        raise InputError(f"{name}: unreadable geometry in <{local_name(element.values.get('tag', 'path'))}> "
                         f"({type(err).__name__} {str(err)[:60]})") from None
    for seg in segments:
        if not isinstance(seg, (Move, Close)) and seg.start is None:
            continue  # drawing before any moveto: the path data is in error from here on (SVG 1.1 F.2)
        if isinstance(seg, Move):
            finish(False)
            start = xy(seg.end)
        elif isinstance(seg, Close):
            if start is not None and n_seg > 0:
                if pts[-1] != start:
                    add_line(pts[-1], start)
                finish(True)
        elif isinstance(seg, Line):
            add_line(xy(seg.start), xy(seg.end))
        elif isinstance(seg, QuadraticBezier):
            p0, c, p1 = xy(seg.start), xy(seg.control), xy(seg.end)
            add_cubic(p0, tuple(a + 2 / 3 * (b - a) for a, b in zip(p0, c)), tuple(a + 2 / 3 * (b - a) for a, b in zip(p1, c)), p1)
        elif isinstance(seg, CubicBezier):
            add_cubic(xy(seg.start), xy(seg.control1), xy(seg.control2), xy(seg.end))
        elif isinstance(seg, Arc):
            if not all(math.isfinite(v) for v in (*xy(seg.start), *xy(seg.end), seg.rx, seg.ry)):  # e.g. 1e309
                raise InputError(f"{name}: non-finite coordinates in <{local_name(element.values.get('tag', 'path'))}>")
            if seg.rx == 0 or seg.ry == 0 or seg.start == seg.end:
                add_line(xy(seg.start), xy(seg.end))
            else:
                for cubic in seg.as_cubic_curves():
                    add_cubic(xy(cubic.start), xy(cubic.control1), xy(cubic.control2), xy(cubic.end))
    finish(False)
    if not all(math.isfinite(v) for p in pts for v in p):
        raise InputError(f"{name}: non-finite coordinates in <{local_name(element.values.get('tag', 'path'))}>")
    return pts, subpaths


class _Parser:
    def __init__(self, tree: ET.ElementTree, name: str, device):
        self.root = tree.getroot()
        self.name = name
        self.device = device
        self.elements = list(self.root.iter())
        self.index = {el: i for i, el in enumerate(self.elements)}
        self.parents = {child: parent for parent in self.elements for child in parent}
        self.by_id = {el.get("id"): el for el in self.elements if el.get("id")}
        self.gradients: dict = {}
        self.skipped: list = []

    def ancestors(self, element):
        while element is not None:
            yield element
            element = self.parents.get(element)

    def unsupported_reason(self, element) -> str | None:
        for el in self.ancestors(element):
            for prop in UNSUPPORTED_PROPS:
                value = property_value(el, prop)
                if value not in (None, "", "none"):
                    return prop
        return None

    def frozen(self, element) -> bool:
        return any(local_name(el.tag) in ("defs", "symbol") for el in self.ancestors(element))

    def paint(self, value: str, color: str, viewport):
        ref = paint_reference(value)
        if ref is not None:
            target = self.by_id.get(ref)
            if target is None or local_name(target.tag) not in ("linearGradient", "radialGradient"):
                fallback = value[value.rfind(")") + 1 :].strip()
                if target is not None:
                    return "pattern"
                return self.paint(fallback, color, viewport) if fallback else None
            if ref not in self.gradients:
                self.gradients[ref] = read_gradient(target, self.by_id, viewport, self.device)
            return self.gradients[ref]
        parsed = parse_color(value, color)
        if parsed is None:
            return None
        rgb, alpha = parsed
        return SolidPaint(torch.tensor(rgb, dtype=torch.float32, device=self.device)), alpha

    def shape(self, element: SvgShape, xml_el: ET.Element, viewport, duplicated: bool) -> Shape | None:
        tag = local_name(xml_el.tag)
        for attr in GEOMETRY_ATTRS:
            value = xml_el.get(attr)
            if value is not None and _NONFINITE.search(value):
                raise InputError(f"{self.name}: non-finite value in {attr}={value[:40]!r} of <{tag}>")
        reason = self.unsupported_reason(xml_el)
        if reason:
            self.skipped.append(f"<{tag}> with {reason}")
            return None
        pts, subpaths = _points_of(element, self.name)
        if not subpaths:
            return None
        values = element.values
        color = values.get("color", "black")
        paints, alphas = [], []
        for prop, default in (("fill", "black"), ("stroke", "none")):
            result = self.paint(values.get(prop, default), color, viewport)
            if result == "pattern":
                self.skipped.append(f"<{tag}> with a pattern {prop}")
                return None
            paint, alpha = result if isinstance(result, tuple) else (result, 1.0)
            paints.append(paint)
            alphas.append(alpha)
        fill, stroke = paints
        if fill is None and stroke is None:
            return None
        tensor = lambda v: torch.tensor(v, dtype=torch.float32, device=self.device)  # noqa: E731
        own_opacity = parse_number(property_value(xml_el, "opacity"), 1.0)
        inherited, groups = 1.0, []
        for el in list(self.ancestors(xml_el))[1:]:
            value = parse_number(property_value(el, "opacity"), 1.0)
            inherited *= value
            if value < 1.0:
                groups.insert(0, (self.index[el], value))
        m = element.transform
        reach = max((abs(m.a * x + m.c * y + m.e) + abs(m.b * x + m.d * y + m.f) for x, y in pts), default=0.0)
        if not reach <= MAX_REACH * max(viewport):  # also NaN: float32 device coordinates would overflow
            self.skipped.append(f"<{tag}> far outside the document")
            return None
        if not abs(m.a * m.d - m.b * m.c) > 1e-12:  # scale(0) and the like: not rendered, and not invertible
            self.skipped.append(f"<{tag}> with a degenerate transform")
            return None
        shape = Shape(
            element=xml_el,
            points=tensor(pts),
            subpaths=subpaths,
            transform=tensor([[m.a, m.c, m.e], [m.b, m.d, m.f]]),
            fill=fill,
            stroke=stroke,
            fill_opacity=tensor(alphas[0] * parse_number(values.get("fill-opacity"), 1.0)),
            stroke_opacity=tensor(alphas[1] * parse_number(values.get("stroke-opacity"), 1.0)),
            opacity=tensor(own_opacity),
            stroke_width=tensor(float(element.stroke_width if element.stroke_width is not None else 1.0)),
            inherited_opacity=inherited,
            groups=tuple(groups),
            fill_rule=values.get("fill-rule", "nonzero"),
            line_join=values.get("stroke-linejoin", "miter"),
            line_cap=values.get("stroke-linecap", "butt"),
            miter_limit=parse_number(values.get("stroke-miterlimit"), 4.0),
            frozen=duplicated or self.frozen(xml_el),
        )
        shape.original = {
            "points": shape.points.clone(),
            "fill_opacity": shape.fill_opacity.clone(),
            "stroke_opacity": shape.stroke_opacity.clone(),
            "opacity": shape.opacity.clone(),
            "stroke_width": shape.stroke_width.clone(),
            "fill": fill.rgb.clone() if isinstance(fill, SolidPaint) else None,
            "stroke": stroke.rgb.clone() if isinstance(stroke, SolidPaint) else None,
        }
        return shape


def parse_svg(source, device="cpu", warn: bool = True) -> Scene:
    """Parse an SVG (path, bytes or text) into a :class:`Scene` on ``device``.

    Raises :class:`core.errors.InputError` for malformed XML, non-SVG files, bad viewBox sizes and
    non-finite coordinates. Elements that are not rasterized (text, images, clip paths, masks, filters,
    markers, patterns) are left out and listed in ``scene.skipped`` (and one warning when ``warn``).
    """
    data, name = _read_source(source)
    tree, namespaces = _parse_xml(data, name)
    root = tree.getroot()
    check_expansion(root, name)
    _check_viewport(root, name)
    parser = _Parser(tree, name, device)
    for index, element in enumerate(parser.elements):
        if isinstance(element.tag, str):
            element.set(INDEX_ATTR, str(index))
    tagged = ET.tostring(root, encoding="unicode")
    for element in parser.elements:
        if isinstance(element.tag, str):
            del element.attrib[INDEX_ATTR]
    try:
        svg = SVG.parse(io.StringIO(tagged), reify=False)
    except Exception as err:  # svgelements raises assorted errors on broken input
        raise InputError(f"{name}: cannot be parsed as SVG ({type(err).__name__}: {err})") from None
    if not isinstance(svg, SVG):  # e.g. an <svg> root outside the SVG namespace
        raise InputError(f"{name}: the root <svg> element is not in the SVG namespace ({root.tag[:80]})")
    width, height = float(svg.width or 0), float(svg.height or 0)
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise InputError(f"{name}: the document has a zero or negative size ({width} x {height})")
    parsed = [e for e in svg.elements() if isinstance(e, (SvgShape, Text))]
    counts: dict = {}
    for e in parsed:
        counts[e.values.get(INDEX_ATTR)] = counts.get(e.values.get(INDEX_ATTR), 0) + 1
    shapes = []
    for e in parsed:
        idx = e.values.get(INDEX_ATTR)
        if idx is None:
            continue
        xml_el = parser.elements[int(idx)]
        if isinstance(e, Text):
            parser.skipped.append("<text>")
            continue
        shape = parser.shape(e, xml_el, (width, height), counts[idx] > 1)
        if shape is not None:
            shapes.append(shape)
    for element in parser.elements:
        tag = local_name(element.tag)
        if tag in ("image", "foreignObject"):
            parser.skipped.append(f"<{tag}>")
    gradients = list({id(g): g for g in parser.gradients.values()}.values())
    scene = Scene(width, height, shapes, gradients, Document(tree, namespaces, name), parser.skipped)
    if warn and parser.skipped:
        summary = ", ".join(f"{n}× {k}" for k, n in _count(parser.skipped).items())
        warnings.warn(f"{os.path.basename(name)}: not rendered and left untouched: {summary}", stacklevel=2)
    return scene


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out
