"""Parse an SVG file into a :class:`vector.model.Scene`.

The XML is read with ElementTree (kept for the writer) and walked by our own iterative traversal, which
does what svgelements' parser got wrong or left out (measured against cairosvg and the SVG 1.1/2 specs):

- the CSS cascade (:mod:`vector.css`) and inheritance, with ``inherit``, ``currentColor`` resolved against the
  element's own ``color`` (CSS Color 4: the keyword is inherited, not its value);
- lengths in every CSS unit and percentages of the nearest viewport (:mod:`vector.units`);
- nested ``<svg>`` viewports and ``<symbol>`` instances: ``x y width height``, ``viewBox``,
  ``preserveAspectRatio`` (every align / meet / slice), and ``overflow`` clipping (a rectangle per shape);
- ``use`` instances (frozen: rendered, never optimised), with a guard against reference cycles and blow-ups;
- the spec's error handling: an invalid attribute value is ignored (its initial or inherited value applies),
  an element whose geometry is in error (negative ``width``, ``r``...) is not rendered, path data is drawn up
  to its first error — with one warning per element naming it. Only documents that are not well-formed XML,
  are not SVG, have no renderable size, are nested deeper than :data:`MAX_DEPTH` or draw more than
  :data:`MAX_INSTANCES` elements through ``use`` raise :class:`core.errors.InputError`.

Geometry comes from :mod:`vector.pathdata` (svgelements is now used only for colour keywords). Each shape
keeps its points in the element's own user space and its accumulated transform (viewBox included) beside
them, and a link to its XML element, so the writer never has to undo anything.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path as FsPath

import torch

from core.errors import InputError
from vector import pathdata
from vector.css import cascade
from vector.model import Document, Scene, Shape, SolidPaint
from vector.svg_paint import InvalidColor, color_value, local_name, paint_reference, read_gradient
from vector.units import (
    DEFAULT_FONT_SIZE,
    NORMAL_LINE_HEIGHT,
    LengthContext,
    parse_number_or_percent,
    resolve_font_size,
    resolve_length,
    resolve_line_height,
)

GEOMETRY_ATTRS = ("d", "points", "x", "y", "width", "height", "cx", "cy", "r", "rx", "ry", "x1", "y1", "x2", "y2", "transform")
UNSUPPORTED_PROPS = ("clip-path", "mask", "filter")
MARKER_PROPS = ("marker-start", "marker-mid", "marker-end")
MAX_BYTES = 50_000_000
#: Deepest element nesting accepted (the writer serialises recursively; real documents stay far below).
MAX_DEPTH = 400
#: Most elements drawn through ``use`` references (guards against exponential ``use`` chains).
MAX_INSTANCES = 20_000
DEFAULT_SIZE = 1000.0
#: Smallest document or viewBox size: pixels per user unit must stay finite in float32 (1e-320 px overflows).
MIN_SIZE = 1e-6
#: Shapes reaching further than this many document sizes from the origin are skipped: their float32 pixel
#: coordinates would overflow.
MAX_REACH = 1e6
_NONFINITE = re.compile(r"(?i)(nan|inf)")
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SHAPES = ("path", "rect", "circle", "ellipse", "line", "polyline", "polygon")
CONTAINERS = ("g", "a", "switch", "svg", "use")
NOT_RENDERED = ("text", "image", "foreignObject", "video", "audio", "canvas", "iframe")

INHERITED = {
    "fill": "black", "stroke": "none", "color": "black", "fill-opacity": 1.0, "stroke-opacity": 1.0,
    "stroke-width": 1.0, "fill-rule": "nonzero", "stroke-linejoin": "miter", "stroke-linecap": "butt",
    "stroke-miterlimit": 4.0, "visibility": "visible", "font-size": DEFAULT_FONT_SIZE,
    "line-height": DEFAULT_FONT_SIZE * NORMAL_LINE_HEIGHT, "marker-start": "none", "marker-mid": "none",
    "marker-end": "none", "stroke-dasharray": (), "stroke-dashoffset": 0.0,
}
NOT_INHERITED = {
    "opacity": 1.0, "display": "inline", "overflow": "visible", "stop-color": "black", "stop-opacity": 1.0,
    "clip-path": "none", "mask": "none", "filter": "none",
}
ENUMS = {
    "fill-rule": ("nonzero", "evenodd"),
    "stroke-linejoin": ("miter", "round", "bevel", "miter-clip", "arcs"),
    "stroke-linecap": ("butt", "round", "square"),
    "visibility": ("visible", "hidden", "collapse"),
    "overflow": ("visible", "hidden", "scroll", "auto"),
}
ALIGNS = {"none", *(f"x{a}Y{b}" for a in ("Min", "Mid", "Max") for b in ("Min", "Mid", "Max"))}


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


def parse_view_box(text) -> "tuple | None | str":
    """``viewBox`` -> (x, y, w, h); None when absent; ``"invalid"`` when not four finite numbers."""
    if text is None:
        return None
    parts = text.replace(",", " ").split()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        return "invalid"
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return "invalid"
    return values


def parse_aspect(text) -> "tuple | None":
    """``preserveAspectRatio`` -> (align, slice?); None when invalid."""
    parts = (text or "xMidYMid meet").split()
    if parts and parts[0] == "defer":
        parts = parts[1:]
    if not parts or parts[0] not in ALIGNS or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("meet", "slice")):
        return None
    return parts[0], len(parts) == 2 and parts[1] == "slice"


def view_box_transform(box: tuple, aspect: tuple, width: float, height: float) -> tuple:
    """The viewBox-to-viewport map (SVG 2 §8.2 "equivalent transform") as (a, b, c, d, e, f)."""
    vx, vy, vw, vh = box
    align, slice_ = aspect
    sx, sy = width / vw, height / vh
    if align == "none":
        return (sx, 0.0, 0.0, sy, -vx * sx, -vy * sy)
    s = max(sx, sy) if slice_ else min(sx, sy)
    tx, ty = -vx * s, -vy * s
    free_x, free_y = width - vw * s, height - vh * s
    tx += {"Min": 0.0, "Mid": free_x / 2, "Max": free_x}[align[1:4]]
    ty += {"Min": 0.0, "Mid": free_y / 2, "Max": free_y}[align[5:8]]
    return (s, 0.0, 0.0, s, tx, ty)


def _apply(m: tuple, p: tuple) -> tuple:
    return (m[0] * p[0] + m[2] * p[1] + m[4], m[1] * p[0] + m[3] * p[1] + m[5])


@dataclass(frozen=True)
class _Frame:
    """What an element inherits from where it is drawn (a ``use`` instance draws its target elsewhere)."""

    style: dict
    ctm: tuple
    ctx: LengthContext
    clips: tuple = ()  # quads (4 corner tuples, document pixels) of the overflow-clipping viewports around it
    groups: tuple = ()
    inherited_opacity: float = 1.0
    frozen: bool = False
    uses: frozenset = frozenset()  # the use elements this instance is drawn through (cycle guard)
    unsupported: "str | None" = None
    use_size: tuple = (None, None)  # width/height of the use that instances a <symbol>/<svg>


class _Parser:
    def __init__(self, tree: ET.ElementTree, name: str, device):
        self.root = tree.getroot()
        self.name = name
        self.device = device
        self.elements = [el for el in self.root.iter() if isinstance(el.tag, str)]
        self.index = {id(el): i for i, el in enumerate(self.elements)}
        self.parents = {child: parent for parent in self.root.iter() for child in parent}
        self.by_id = {el.get("id"): el for el in self.elements if el.get("id")}
        self.gradients: dict = {}
        self.skipped: list = []
        self.problems: dict = {}  # element label -> [messages]
        self.visited = 0
        self.group_counter = 0
        self.clip_tensors: dict = {}
        self._static: dict = {}
        self.initial = {**INHERITED, **NOT_INHERITED, "root-font-size": DEFAULT_FONT_SIZE}
        self.root_viewport = (DEFAULT_SIZE, DEFAULT_SIZE)
        depth = {id(self.root): 0}
        for parent in self.root.iter():
            d = depth[id(parent)] + 1
            for child in parent:
                depth[id(child)] = d
                if d > MAX_DEPTH:
                    raise InputError(f"{name}: elements nested deeper than {MAX_DEPTH} levels")
        self.specified, self.important, dropped = cascade(self.root, self.elements, self.parents, local_name)
        if dropped:
            self.problem(self.root, f"unsupported CSS selectors ignored: {', '.join(sorted(set(dropped)))[:120]}")

    # -- diagnostics -------------------------------------------------------------------------------------
    def label(self, el) -> str:
        tag = local_name(el.tag)
        return f"<{tag} id={el.get('id')!r}>" if el.get("id") else f"<{tag}> (element {self.index.get(id(el), '?')})"

    def problem(self, el, message: str) -> None:
        self.problems.setdefault(self.label(el), []).append(message)

    # -- styles ------------------------------------------------------------------------------------------
    def resolved(self, el, spec: dict, name: str, resolve):
        """``resolve(text)`` of the property ``name`` specified on ``el`` (``spec``: its specified style); None when
        it is not specified, ``inherit``, or invalid (reported as a problem and ignored)."""
        text = spec.get(name)
        if text is None or text == "inherit":
            return None
        value = resolve(text)
        if value is None:
            self.problem(el, f"invalid {name} {text!r} ignored")
        return value

    def compute(self, parent: dict, el, viewport: tuple) -> dict:
        """Computed style of ``el`` drawn under ``parent`` (a computed style) in a viewport of that size."""
        spec = self.specified.get(id(el), {})
        style = {k: parent[k] for k in INHERITED}
        style.update(NOT_INHERITED)
        if el is not self.root and local_name(el.tag) in ("svg", "symbol"):
            style["overflow"] = "hidden"  # the UA style sheet: svg:not(:root), symbol { overflow: hidden }
        style["root-font-size"] = parent["root-font-size"]
        font_size = self.resolved(el, spec, "font-size",
                                  lambda text: resolve_font_size(text, parent["font-size"], parent["root-font-size"]))
        if font_size is not None:
            style["font-size"] = font_size
            if el is self.root:
                style["root-font-size"] = font_size
        line_height = self.resolved(el, spec, "line-height",
                                    lambda text: resolve_line_height(text, style["font-size"], style["root-font-size"]))
        if line_height is not None:
            style["line-height"] = line_height
        elif spec.get("font-size") is not None and "line-height" not in spec:
            style["line-height"] = parent["line-height"] * style["font-size"] / max(parent["font-size"], 1e-12)
        ctx = LengthContext(style["font-size"], style["root-font-size"], style["line-height"], viewport)
        if "marker" in spec:
            spec = {**{k: spec["marker"] for k in MARKER_PROPS}, **spec}
        for name, value in spec.items():
            if name in ("font-size", "line-height", "marker") or name not in style:
                continue
            if value == "inherit":
                style[name] = parent.get(name, style[name])
                continue
            parsed = self._value(name, value, ctx)
            if parsed is None:
                self.problem(el, f"invalid {name} {value!r} ignored")
            else:
                style[name] = parsed
        return style

    def _value(self, name: str, value: str, ctx: LengthContext):
        """A validated computed value, or None when ``value`` is invalid for ``name``."""
        if name in ("fill", "stroke"):
            if value == "none" or value.lower() == "currentcolor":
                return value
            rest = value
            if paint_reference(value) is not None:
                if not value.lstrip().lower().startswith("url("):
                    return None
                rest = value[value.rfind(")") + 1 :].strip()
                if rest in ("", "none") or rest.lower() == "currentcolor":
                    return value
            try:
                color_value(rest)
            except InvalidColor:
                return None
            return value
        if name == "color":
            if value.lower() == "currentcolor":
                return None
            try:
                color_value(value)
            except InvalidColor:
                return None
            return value
        if name in ("stop-color",):
            if value.lower() == "currentcolor":
                return value
            try:
                color_value(value)
            except InvalidColor:
                return None
            return value
        if name in ("fill-opacity", "stroke-opacity", "opacity", "stop-opacity"):
            number = parse_number_or_percent(value)
            return None if number is None else min(max(number, 0.0), 1.0)
        if name == "stroke-width":
            width = resolve_length(value, ctx, "xy")
            return width if width is not None and width >= 0 else None
        if name == "stroke-dasharray":
            if value.strip() == "none":
                return ()
            items = [resolve_length(v, ctx, "xy") for v in re.split(r"[\s,]+", value.strip())]
            if not items or any(v is None or v < 0 for v in items):
                return None
            if sum(items) <= 0:
                return ()  # all zero: a solid stroke
            return tuple(items * (2 if len(items) % 2 else 1))
        if name == "stroke-dashoffset":
            return resolve_length(value, ctx, "xy")
        if name == "stroke-miterlimit":
            number = parse_number_or_percent(value) if not value.strip().endswith("%") else None
            return number if number is not None and number >= 1 else None
        if name in ENUMS:
            return value if value in ENUMS[name] else None
        if name == "display":
            return value.strip()
        return value.strip()

    def static_style(self, el) -> dict:
        """Computed style of ``el`` in the document tree (for gradients and their stops), memoised."""
        chain = []
        node = el
        while node is not None and id(node) not in self._static:
            chain.append(node)
            node = self.parents.get(node)
        style = self._static[id(node)] if node is not None else self.initial
        for node in reversed(chain):
            style = self.compute(style, node, self.root_viewport)
            self._static[id(node)] = style
        return style

    # -- paints ------------------------------------------------------------------------------------------
    def stop_paint(self, stop) -> tuple:
        """(rgb, alpha) of a ``<stop>`` from its computed stop-color (currentColor: the stop's color) and opacity."""
        style = self.static_style(stop)
        text = style["stop-color"]
        if text.lower() == "currentcolor":
            text = style["color"]
        rgb, alpha = color_value(text)
        return rgb, alpha * style["stop-opacity"]

    def paint(self, value: str, style: dict, ctx: LengthContext, bbox, el, prop):
        """A shape's fill or stroke -> (paint, alpha), None (nothing drawn) or "pattern" (shape skipped)."""
        ref = paint_reference(value)
        if ref is not None:
            fallback = value[value.rfind(")") + 1 :].strip()
            target = self.by_id.get(ref)
            kind = local_name(target.tag) if target is not None else None
            if kind == "pattern":
                return "pattern"
            if kind in ("linearGradient", "radialGradient"):
                key = (ref, ctx.viewport)
                if key not in self.gradients:
                    self.gradients[key] = read_gradient(target, self.by_id, ctx, self.stop_paint, self.device)
                gradient = self.gradients[key]
                if isinstance(gradient, str):  # the gradient itself is in error: not rendered
                    self.problem(target, gradient)
                    return None
                degenerate = gradient.units == "objectBoundingBox" and (bbox[2] - bbox[0] <= 0 or bbox[3] - bbox[1] <= 0)
                if not degenerate:
                    return gradient, 1.0
                value = fallback  # SVG 1.1 §7.11: no bounding box, no gradient; SVG 2: use the fallback
            else:
                if fallback == "":
                    self.problem(el, f"{prop} references missing paint server #{ref}")
                value = fallback
        if value in ("", "none"):
            return None
        if value.lower() == "currentcolor":
            value = style["color"]
        rgb, alpha = color_value(value)
        if alpha == 0 and value.strip().lower() == "transparent":
            return None
        return SolidPaint(torch.tensor(rgb, dtype=torch.float32, device=self.device)), alpha

    # -- geometry ----------------------------------------------------------------------------------------
    def length(self, el, attr, ctx, axis, default=0.0, positive=False):
        """An attribute length in user units: the default when absent or invalid (invalid: warned);
        ``"error"`` when ``positive`` and it is negative (the element is then not rendered)."""
        text = el.get(attr)
        if text is None:
            return default
        value = resolve_length(text, ctx, axis)
        if value is None:
            self.problem(el, f"invalid {attr} {text!r} ignored")
            return default
        if positive and value < 0:
            self.problem(el, f"negative {attr} {text!r}: not rendered")
            return "error"
        return value

    def geometry(self, el, tag, ctx) -> "tuple | None":
        """(points, subpaths) of a basic shape or path in its user space; None when it is not rendered."""
        for attr in GEOMETRY_ATTRS:
            value = el.get(attr)
            if value is not None and _NONFINITE.search(value):
                raise InputError(f"{self.name}: non-finite value in {attr}={value[:40]!r} of <{tag}>")
        if tag == "path":
            pts, subs, error = pathdata.parse_path(el.get("d", ""))
            if error:
                self.problem(el, f"path data error ({error}): drawn up to it")
            return pts, subs
        if tag in ("polyline", "polygon"):
            points, error = pathdata.parse_points(el.get("points", ""))
            if error:
                self.problem(el, f"points error ({error}): drawn up to it")
            return pathdata.polyline(points, tag == "polygon")
        if tag == "line":
            x1, y1 = self.length(el, "x1", ctx, "x"), self.length(el, "y1", ctx, "y")
            x2, y2 = self.length(el, "x2", ctx, "x"), self.length(el, "y2", ctx, "y")
            return pathdata.polyline([(x1, y1), (x2, y2)], False)
        if tag == "circle":
            cx, cy = self.length(el, "cx", ctx, "x"), self.length(el, "cy", ctx, "y")
            r = self.length(el, "r", ctx, "xy", positive=True)
            return None if r == "error" or r <= 0 else pathdata.ellipse(cx, cy, r, r)
        if tag == "ellipse":
            cx, cy = self.length(el, "cx", ctx, "x"), self.length(el, "cy", ctx, "y")
            rx, ry = self._radii(el, ctx, None, None)
            return None if rx is None or rx <= 0 or ry <= 0 else pathdata.ellipse(cx, cy, rx, ry)
        x, y = self.length(el, "x", ctx, "x"), self.length(el, "y", ctx, "y")
        w = self.length(el, "width", ctx, "x", positive=True)
        h = self.length(el, "height", ctx, "y", positive=True)
        if "error" in (w, h) or w <= 0 or h <= 0:
            return None
        rx, ry = self._radii(el, ctx, w, h)
        return pathdata.rect(x, y, w, h, rx, ry)

    def _radii(self, el, ctx, w, h) -> tuple:
        """``rx``/``ry`` with SVG 2's auto rules: a missing (or invalid/negative) one takes the other's value;
        for rects both are then clamped to half the sides. (None, None) when an ellipse radius is negative."""
        values = []
        for attr, axis in (("rx", "x"), ("ry", "y")):
            text = el.get(attr)
            value = None if text is None or text.strip() == "auto" else resolve_length(text, ctx, axis)
            if text is not None and text.strip() != "auto" and (value is None or value < 0):
                if w is None and value is not None:  # ellipse: a negative radius is an error
                    self.problem(el, f"negative {attr} {text!r}: not rendered")
                    return None, None
                self.problem(el, f"invalid {attr} {text!r} ignored (auto)")
                value = None
            values.append(value)
        rx, ry = values
        rx = ry if rx is None else rx
        ry = rx if ry is None else ry
        rx, ry = rx or 0.0, ry or 0.0
        if w is not None:
            rx, ry = min(rx, w / 2), min(ry, h / 2)
        return rx, ry

    # -- traversal ---------------------------------------------------------------------------------------
    def viewport(self, el, frame: _Frame, style, ctm, ctx, size_override=(None, None)):
        """The frame for the children of a nested ``svg`` (or an instanced ``symbol``); None: not rendered."""
        x = self.length(el, "x", ctx, "x")
        y = self.length(el, "y", ctx, "y")
        dims = []
        for attr, axis, given in (("width", "x", size_override[0]), ("height", "y", size_override[1])):
            text = given if given is not None else el.get(attr)
            if text is None or text.strip() == "auto":
                text = "100%"
            value = resolve_length(text, ctx, axis)
            if value is None:
                self.problem(el, f"invalid {attr} {text!r} ignored")
                value = resolve_length("100%", ctx, axis)
            if value < 0:
                self.problem(el, f"negative {attr} {text!r}: not rendered")
                return None
            dims.append(value)
        w, h = dims
        if w <= 0 or h <= 0:
            return None
        box = parse_view_box(el.get("viewBox"))
        if box == "invalid":
            self.problem(el, f"invalid viewBox {el.get('viewBox')!r} ignored")
            box = None
        if box is not None and not (box[2] >= MIN_SIZE and box[3] >= MIN_SIZE):
            return None  # a zero or negative viewBox size disables rendering of the element (vanishing: overflow)
        aspect = parse_aspect(el.get("preserveAspectRatio"))
        if aspect is None:
            self.problem(el, f"invalid preserveAspectRatio {el.get('preserveAspectRatio')!r} ignored")
            aspect = ("xMidYMid", False)
        inner = pathdata.multiply(ctm, (1.0, 0.0, 0.0, 1.0, x, y))
        if box is not None:
            inner = pathdata.multiply(inner, view_box_transform(box, aspect, w, h))
        clips = frame.clips
        if style["overflow"] in ("hidden", "scroll"):
            corners = tuple(_apply(ctm, p) for p in ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))
            clips = clips + (corners,)
        vp = (box[2], box[3]) if box is not None else (w, h)
        return inner, replace(ctx, viewport=vp), clips

    def walk(self, width: float, height: float) -> list:
        root = self.root
        box = parse_view_box(root.get("viewBox"))
        if box == "invalid":
            self.problem(root, f"invalid viewBox {root.get('viewBox')!r} ignored")
            box = None
        aspect = parse_aspect(root.get("preserveAspectRatio"))
        if aspect is None:
            self.problem(root, f"invalid preserveAspectRatio {root.get('preserveAspectRatio')!r} ignored")
            aspect = ("xMidYMid", False)
        self.root_viewport_px = (width, height)
        ctm = view_box_transform(box, aspect, width, height) if box else pathdata.IDENTITY
        self.root_viewport = (box[2], box[3]) if box else (width, height)
        root_style = self.compute(self.initial, root, self.root_viewport)
        self._static[id(root)] = root_style
        ctx = LengthContext(root_style["font-size"], root_style["root-font-size"], root_style["line-height"], self.root_viewport)
        top = _Frame(root_style, ctm, ctx, unsupported=next((p for p in UNSUPPORTED_PROPS if root_style[p] not in ("none", "")), None))
        if root_style["opacity"] < 1.0:
            self.group_counter += 1
            top = replace(top, groups=((self.group_counter, root_style["opacity"]),), inherited_opacity=root_style["opacity"])
        shapes = []
        stack = [(child, top) for child in reversed(list(root))]
        while stack:
            el, frame = stack.pop()
            if not isinstance(el.tag, str):
                continue
            if frame.uses:
                self.visited += 1
                if self.visited > MAX_INSTANCES:
                    raise InputError(f"{self.name}: more than {MAX_INSTANCES} elements drawn through <use> references")
            shape = self.visit(el, frame, stack)
            if shape is not None:
                shapes.append(shape)
        drawn: dict = {}
        for shape in shapes:
            drawn[id(shape.element)] = drawn.get(id(shape.element), 0) + 1
        for shape in shapes:  # an element drawn twice (itself and through use) cannot follow two optimisations
            shape.frozen = shape.frozen or drawn[id(shape.element)] > 1
        return shapes

    @staticmethod
    def conditions_pass(el) -> bool:
        """SVG conditional processing: no extension is supported; ``systemLanguage`` matches English;
        ``requiredFeatures`` always passes (SVG 2)."""
        if el.get("requiredExtensions") is not None:
            return False
        langs = el.get("systemLanguage")
        return langs is None or any(lang.strip().lower().split("-")[0] == "en" for lang in langs.split(","))

    def visit(self, el, frame: _Frame, stack) -> "Shape | None":
        tag = local_name(el.tag)
        if not self.conditions_pass(el):
            return None
        instanced_target = frame.use_size != (None, None)
        if tag not in SHAPES and tag not in CONTAINERS and not (tag == "symbol" and instanced_target):
            if tag in NOT_RENDERED:
                self.skipped.append(f"<{tag}>")
            return None
        style = self.compute(frame.style, el, frame.ctx.viewport)
        if style["display"] == "none":
            return None
        ctx = replace(frame.ctx, font_size=style["font-size"], root_font_size=style["root-font-size"], line_height=style["line-height"])
        transform = el.get("transform")
        m = pathdata.parse_transform(transform) if transform is not None else pathdata.IDENTITY
        if m is None:
            self.problem(el, f"invalid transform {transform[:40]!r} ignored")
            m = pathdata.IDENTITY
        ctm = pathdata.multiply(frame.ctm, m)
        unsupported = frame.unsupported or next((p for p in UNSUPPORTED_PROPS if style[p] not in ("none", "")), None)
        if tag in SHAPES:
            return self.shape(el, tag, style, ctx, ctm, frame, unsupported)
        opacity = style["opacity"]
        groups = frame.groups
        if opacity < 1.0:
            self.group_counter += 1
            groups = groups + ((self.group_counter, opacity),)
        child = replace(frame, style=style, ctm=ctm, ctx=ctx, groups=groups, unsupported=unsupported,
                        inherited_opacity=frame.inherited_opacity * opacity, use_size=(None, None))
        if tag == "use":
            return self.use(el, child, stack)
        if tag in ("svg", "symbol"):
            override = frame.use_size if instanced_target else (None, None)
            vp = self.viewport(el, frame, style, ctm, ctx, override)
            if vp is None:
                return None
            inner, inner_ctx, clips = vp
            child = replace(child, ctm=inner, ctx=inner_ctx, clips=clips)
        kids = [c for c in el if isinstance(c.tag, str)]
        if tag == "switch":  # only the first direct child whose conditions pass (Illustrator's foreignObject fails)
            kids = [k for k in kids if self.conditions_pass(k)][:1]
        stack.extend((c, child) for c in reversed(kids))
        return None

    def use(self, el, frame: _Frame, stack) -> None:
        ref = el.get("href") or el.get(XLINK_HREF) or ""
        target = self.by_id.get(ref[1:]) if ref.startswith("#") else None
        if target is None:
            self.problem(el, f"reference {ref!r} not found: not rendered")
            return None
        node, ancestors = el, set()
        while node is not None:
            ancestors.add(id(node))
            node = self.parents.get(node)
        if id(target) in frame.uses or id(target) in ancestors or id(el) in frame.uses:
            self.problem(el, f"circular reference {ref!r}: not rendered")
            return None
        x = self.length(el, "x", frame.ctx, "x")
        y = self.length(el, "y", frame.ctx, "y")
        ctm = pathdata.multiply(frame.ctm, (1.0, 0.0, 0.0, 1.0, x, y))
        size = (None, None)
        if local_name(target.tag) == "symbol":
            size = (el.get("width") or "100%", el.get("height") or "100%")
        elif local_name(target.tag) == "svg":
            size = (el.get("width"), el.get("height"))
        stack.append((target, replace(frame, ctm=ctm, frozen=True, uses=frame.uses | {id(el)}, use_size=size)))
        return None

    def shape(self, el, tag, style, ctx, ctm, frame: _Frame, unsupported) -> "Shape | None":
        geometry = self.geometry(el, tag, ctx)
        if geometry is None:
            return None
        pts, subpaths = geometry
        if not subpaths or style["visibility"] != "visible":
            return None
        if not all(math.isfinite(v) for p in pts for v in p):
            raise InputError(f"{self.name}: non-finite coordinates in <{tag}>")
        a, b, c, d, e, f = ctm
        if not abs(a * d - b * c) > 1e-12:  # scale(0) and the like: nothing visible, and not invertible
            return None
        reach = max(abs(a * x + c * y + e) + abs(b * x + d * y + f) for x, y in pts)
        if not reach <= MAX_REACH * max(self.root_viewport_px):
            self.skipped.append(f"<{tag}> far outside the document")
            return None
        if unsupported:
            self.skipped.append(f"<{tag}> with {unsupported}")
            return None
        if tag in ("path", "line", "polyline", "polygon"):
            marker = next((p for p in MARKER_PROPS if style[p] not in ("none", "")), None)
            if marker:
                self.skipped.append(f"<{tag}> with {marker}")
                return None
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        bbox = (min(xs), min(ys), max(xs), max(ys))
        paints, alphas = [], []
        for prop in ("fill", "stroke"):
            result = self.paint(style[prop], style, ctx, bbox, el, prop)
            if result == "pattern":
                self.skipped.append(f"<{tag}> with a pattern {prop}")
                return None
            paint, alpha = result if isinstance(result, tuple) else (None, 1.0)
            paints.append(paint)
            alphas.append(alpha)
        fill, stroke = paints
        if fill is None and stroke is None:
            return None
        tensor = lambda v: torch.tensor(v, dtype=torch.float32, device=self.device)  # noqa: E731
        clip = None
        if frame.clips:
            if frame.clips not in self.clip_tensors:
                self.clip_tensors[frame.clips] = tensor(frame.clips)
            clip = self.clip_tensors[frame.clips]
        shape = Shape(
            element=el,
            points=tensor(pts),
            subpaths=subpaths,
            transform=tensor([[a, c, e], [b, d, f]]),
            fill=fill,
            stroke=stroke,
            fill_opacity=tensor(alphas[0] * style["fill-opacity"]),
            stroke_opacity=tensor(alphas[1] * style["stroke-opacity"]),
            opacity=tensor(style["opacity"]),
            stroke_width=tensor(float(style["stroke-width"])),
            inherited_opacity=frame.inherited_opacity,
            groups=frame.groups,
            fill_rule=style["fill-rule"],
            line_join=style["stroke-linejoin"],
            line_cap=style["stroke-linecap"],
            miter_limit=float(style["stroke-miterlimit"]),
            frozen=frame.frozen,
            dash=style["stroke-dasharray"],
            dash_offset=float(style["stroke-dashoffset"]),
            clip=clip,
            important=frozenset(self.important.get(id(el), ())),
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


def _document_size(root: ET.Element, name: str) -> tuple:
    """The document's size in CSS px from ``width``/``height`` (any unit) and the viewBox's aspect ratio.

    A missing, ``auto`` or percentage size takes the viewBox's (scaled to keep its aspect when the other one is
    given), else :data:`DEFAULT_SIZE`. Raises InputError when no renderable size results.
    """
    box = parse_view_box(root.get("viewBox"))
    if box not in (None, "invalid") and not (box[2] >= MIN_SIZE and box[3] >= MIN_SIZE):
        raise InputError(f"{name}: viewBox {root.get('viewBox')!r} has a zero or negative size (or one below MIN_SIZE)")
    box = None if box == "invalid" else box
    root_font = resolve_font_size(root.get("font-size") or "medium", DEFAULT_FONT_SIZE, DEFAULT_FONT_SIZE) or DEFAULT_FONT_SIZE
    ctx = LengthContext(font_size=root_font, root_font_size=root_font, line_height=root_font * NORMAL_LINE_HEIGHT)
    sizes = []
    for attr in ("width", "height"):
        text = root.get(attr)
        if text is not None and _NONFINITE.search(text):
            raise InputError(f"{name}: {attr} {text!r} is not a finite number")
        if text is None or text.strip() in ("auto", "") or text.strip().endswith("%"):
            sizes.append(None)
            continue
        value = resolve_length(text, ctx)
        if value is None:
            warnings.warn(f"{os.path.basename(name)}: <svg>: invalid {attr} {text!r} ignored", stacklevel=3)
            sizes.append(None)
        elif value < 0:
            raise InputError(f"{name}: negative {attr} {text!r}")
        else:
            sizes.append(value)
    w, h = sizes
    if box is not None:
        if w is None and h is None:
            w, h = box[2], box[3]
        elif w is None:
            w = h * box[2] / box[3]
        elif h is None:
            h = w * box[3] / box[2]
    w = DEFAULT_SIZE if w is None else w
    h = DEFAULT_SIZE if h is None else h
    if not (w >= MIN_SIZE and h >= MIN_SIZE and math.isfinite(w) and math.isfinite(h)):
        raise InputError(f"{name}: the document has a zero or negative size (or one below MIN_SIZE) ({w} x {h})")
    return w, h


def parse_svg(source, device="cpu", warn: bool = True) -> Scene:
    """Parse an SVG (path, bytes or text) into a :class:`Scene` on ``device``.

    Raises :class:`core.errors.InputError` for malformed XML, non-SVG files, documents without a renderable
    size, non-finite coordinates and documents nested or expanded past the limits. Elements that are not
    rasterized (text, images, clip paths, masks, filters, markers, patterns) are left out and listed in
    ``scene.skipped``; invalid attribute values follow the spec's error handling. When ``warn``: one warning
    for the skipped elements and one per element with invalid values.
    """
    data, name = _read_source(source)
    tree, namespaces = _parse_xml(data, name)
    root = tree.getroot()
    width, height = _document_size(root, name)
    parser = _Parser(tree, name, device)
    shapes = parser.walk(width, height)
    gradients = list({id(g): g for g in parser.gradients.values() if not isinstance(g, str)}.values())
    gradients = [g for g in gradients if any(s.fill is g or s.stroke is g for s in shapes)]
    scene = Scene(width, height, shapes, gradients, Document(tree, namespaces, name), parser.skipped, parser.problems)
    if warn:
        base = os.path.basename(name)
        for label, messages in parser.problems.items():
            warnings.warn(f"{base}: {label}: {'; '.join(dict.fromkeys(messages))}", stacklevel=2)
        if parser.skipped:
            summary = ", ".join(f"{n}× {k}" for k, n in _count(parser.skipped).items())
            warnings.warn(f"{base}: not rendered and left untouched: {summary}", stacklevel=2)
    return scene


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


