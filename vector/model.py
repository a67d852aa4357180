"""The SVG scene: shapes and paints as tensors, each linked back to its element in the source document.

Coordinates of a shape's control points are kept in the element's own user space (before its
accumulated transform), so the writer can put optimised geometry back without inverting anything.
All tensors are float32 on one device. Colours are straight (not premultiplied) RGB in [0, 1].
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Optional, Union

import torch

#: Parameter categories the restyler can optimise (``--optimize``).
PARAM_KINDS = ("colors", "points", "widths", "opacity")


@dataclass
class SolidPaint:
    """A flat colour. ``rgb``: (3,) in [0, 1]."""

    rgb: torch.Tensor


@dataclass
class Gradient:
    """A linear or radial gradient, read from the XML (svgelements does not model gradients).

    ``geometry``: linear (x1, y1, x2, y2); radial (cx, cy, r, fx, fy, fr), in gradient units.
    ``offsets`` (K,) in [0, 1], ``stop_rgb`` (K, 3), ``stop_opacity`` (K,).
    ``transform``: (2, 3) gradientTransform. ``element`` holds the geometry attributes, ``stop_elements`` the
    ``<stop>`` elements (possibly inherited through ``href`` from another gradient).
    """

    kind: str
    element: ET.Element
    stop_elements: list
    geometry: torch.Tensor
    offsets: torch.Tensor
    stop_rgb: torch.Tensor
    stop_opacity: torch.Tensor
    units: str
    transform: torch.Tensor
    spread: str
    original: dict = field(default_factory=dict)


Paint = Union[SolidPaint, Gradient]


@dataclass
class Shape:
    """One rendered element (path, rect, circle, ellipse, line, polyline, polygon).

    ``points``: (N, 2) cubic Bézier control points in the element's user space; subpath ``i`` owns
    ``3 * n_i + 1`` consecutive points (``subpaths`` lists ``(first_point, n_segments, closed)``); a closed
    subpath's last point duplicates its first and is not used: its last cubic ends at the first point.
    ``transform``: (2, 3) accumulated transform from user space to document pixels (viewBox included).
    ``stroke_width`` in user units; opacities are scalars in [0, 1]; ``inherited_opacity`` is the product of
    the ancestors' ``opacity``; ``groups`` lists the ancestors with ``opacity < 1`` from the outermost in, as
    (element index in document order, opacity): the rasterizer composites each such group's content first and
    then applies its opacity to the group as a whole, as SVG renderers do. The shape's own ``opacity`` scales its
    fill and its stroke separately, as cairosvg does (browsers treat it as a group of the two).
    ``frozen`` shapes (instances of ``<use>``, contents of ``<defs>``) are rendered but never optimised.
    ``clip``: None or (K, 4, 2) convex quads in document pixels (the overflow-clipping nested viewports around
    the shape); the shape is drawn only inside all of them. ``dash``: the stroke's dash pattern in user units
    (even length, positive sum; () for solid) and ``dash_offset`` its offset (not optimised). ``important``: properties set on the element by
    ``!important`` CSS rules (the writer must mark its own values ``!important`` to win over them).
    """

    element: ET.Element
    points: torch.Tensor
    subpaths: list
    transform: torch.Tensor
    fill: Optional[Paint]
    stroke: Optional[Paint]
    fill_opacity: torch.Tensor
    stroke_opacity: torch.Tensor
    opacity: torch.Tensor
    stroke_width: torch.Tensor
    inherited_opacity: float = 1.0
    groups: tuple = ()
    fill_rule: str = "nonzero"
    line_join: str = "miter"
    line_cap: str = "butt"
    miter_limit: float = 4.0
    frozen: bool = False
    original: dict = field(default_factory=dict)
    clip: Optional[torch.Tensor] = None
    important: frozenset = frozenset()
    dash: tuple = ()
    dash_offset: float = 0.0


@dataclass
class Document:
    """The parsed XML tree of the source file (written back by :mod:`vector.writer`)."""

    tree: ET.ElementTree
    namespaces: dict
    source: str = ""


@dataclass
class Scene:
    """A parsed SVG: document size in CSS pixels, shapes in paint order, the gradients they use."""

    width: float
    height: float
    shapes: list
    gradients: list
    document: Document
    skipped: list = field(default_factory=list)
    problems: dict = field(default_factory=dict)
    """Element label -> messages about invalid values (ignored or not rendered, per the SVG error handling)."""
    cache: dict = field(default_factory=dict, repr=False)

    def parameters(self, kinds=PARAM_KINDS) -> list:
        """Leaf tensors of the optimisable (non-frozen) shapes and their paints for the requested kinds."""
        unknown = set(kinds) - set(PARAM_KINDS)
        if unknown:
            raise ValueError(f"unknown parameter kinds {sorted(unknown)}; choose from {PARAM_KINDS}")
        params, seen = [], set()

        def add(t):
            if id(t) not in seen:
                seen.add(id(t))
                params.append(t)

        for shape in self.shapes:
            if shape.frozen:
                continue
            if "points" in kinds:
                add(shape.points)
            if "widths" in kinds and shape.stroke is not None:
                add(shape.stroke_width)
            if "opacity" in kinds:
                if shape.fill is not None:
                    add(shape.fill_opacity)
                if shape.stroke is not None:
                    add(shape.stroke_opacity)
            for paint in (shape.fill, shape.stroke):
                if isinstance(paint, SolidPaint) and "colors" in kinds:
                    add(paint.rgb)
                elif isinstance(paint, Gradient):
                    if "colors" in kinds:
                        add(paint.stop_rgb)
                    if "points" in kinds:
                        add(paint.geometry)
        return params

    def to(self, device) -> "Scene":
        """Move every tensor to ``device`` in place (leaf tensors stay leaves); returns self."""
        moved = {}

        def mv(t):
            if id(t) not in moved:
                moved[id(t)] = t.detach().to(device)
            return moved[id(t)]

        for g in self.gradients:
            for name in ("geometry", "offsets", "stop_rgb", "stop_opacity", "transform"):
                setattr(g, name, mv(getattr(g, name)))
        for s in self.shapes:
            for name in ("points", "transform", "fill_opacity", "stroke_opacity", "opacity", "stroke_width"):
                setattr(s, name, mv(getattr(s, name)))
            if s.clip is not None:
                s.clip = mv(s.clip)
            for paint in (s.fill, s.stroke):
                if isinstance(paint, SolidPaint):
                    paint.rgb = mv(paint.rgb)
        return self
