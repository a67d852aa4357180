"""Painting styles: the parameters of Hertzmann's "Painterly Rendering with Curved Brush Strokes of Multiple
Sizes" (SIGGRAPH 1998, section 4) and the paper's four named styles.

Units: ``threshold`` is the approximation threshold T on the mean per-pixel RGB distance over a grid cell,
with colours on the paper's 0..255 scale; radii and lengths are in pixels of the working image (lengths count
control points after the first, each ``R`` apart). Colour jitters are the half-widths of uniform offsets
(hue in turns, the others on 0..1), applied to each stroke's colour after placement.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from core.errors import InputError


@dataclass(frozen=True)
class PaintStyle:
    """One painting style. Every field is a parameter of the paper (names after its symbols in comments)."""

    brushes: tuple = field(default=(8, 4, 2), metadata={"help": "brush radii R_1 > ... > R_n in pixels, largest first"})
    threshold: float = field(default=100.0, metadata={"help": "approximation threshold T (mean RGB distance per grid cell, 0..255 scale)"})
    curvature: float = field(default=1.0, metadata={"help": "curvature filter f_c in [0, 1] (1: follow the image, 0: straight)"})
    blur_factor: float = field(default=0.5, metadata={"help": "blur factor f_sigma: the reference is blurred with sigma = f_sigma * R"})
    grid_factor: float = field(default=1.0, metadata={"help": "grid size f_g: grid spacing f_g * R"})
    min_length: int = field(default=4, metadata={"help": "minimum stroke length (control points) before the colour test may end a stroke"})
    max_length: int = field(default=16, metadata={"help": "maximum stroke length (control points after the first)"})
    opacity: float = field(default=1.0, metadata={"help": "stroke opacity alpha in (0, 1]"})
    jitter_hue: float = field(default=0.0, metadata={"help": "hue jitter j_h (uniform +-j_h/2 turns)"})
    jitter_saturation: float = field(default=0.0, metadata={"help": "saturation jitter j_s (uniform +-j_s/2)"})
    jitter_value: float = field(default=0.0, metadata={"help": "value jitter j_v (uniform +-j_v/2)"})
    jitter_r: float = field(default=0.0, metadata={"help": "red jitter j_r (uniform +-j_r/2)"})
    jitter_g: float = field(default=0.0, metadata={"help": "green jitter j_g (uniform +-j_g/2)"})
    jitter_b: float = field(default=0.0, metadata={"help": "blue jitter j_b (uniform +-j_b/2)"})

    def validate(self) -> "PaintStyle":
        """Raise :class:`InputError` (one line) for values the algorithm cannot use; return self."""
        if len(self.brushes) == 0:
            raise InputError("--brushes is empty; give at least one radius, e.g. --brushes 8,4,2")
        if len(self.brushes) > 8:
            raise InputError(f"--brushes has {len(self.brushes)} radii; use at most 8")
        for r in self.brushes:
            if not (isinstance(r, (int, float)) and 1 <= r <= 128):
                raise InputError(f"--brushes radius {r} is out of range; use 1..128 pixels")
        if list(self.brushes) != sorted(self.brushes, reverse=True) or len(set(self.brushes)) != len(self.brushes):
            raise InputError(f"--brushes {','.join(map(str, self.brushes))} must be distinct and largest first")
        checks = [("threshold", self.threshold, 0.0, 442.0), ("curvature", self.curvature, 0.0, 1.0),
                  ("blur-factor", self.blur_factor, 0.0, 10.0), ("grid-factor", self.grid_factor, 0.1, 10.0),
                  ("opacity", self.opacity, 0.01, 1.0)]
        checks += [(f"jitter-{n}", getattr(self, f"jitter_{n}"), 0.0, 2.0)
                   for n in ("hue", "saturation", "value", "r", "g", "b")]
        for name, value, low, high in checks:
            if not low <= value <= high:  # also false for NaN
                raise InputError(f"--{name} {value} is out of range; use {low:g}..{high:g}")
        if not 0 <= self.min_length <= 1000 or not 0 <= self.max_length <= 1000:
            raise InputError("--min-length and --max-length must be in 0..1000")
        if self.min_length > self.max_length:
            raise InputError(f"--min-length {self.min_length} is larger than --max-length {self.max_length}")
        return self

    def replace(self, **changes) -> "PaintStyle":
        return dataclasses.replace(self, **changes)


PRESETS = {
    # Section 4 of the paper, parameters as listed there.
    "impressionist": PaintStyle(threshold=100, brushes=(8, 4, 2), curvature=1.0, blur_factor=0.5, opacity=1.0,
                                grid_factor=1.0, min_length=4, max_length=16),
    "expressionist": PaintStyle(threshold=50, brushes=(8, 4, 2), curvature=0.25, blur_factor=0.5, opacity=0.7,
                                grid_factor=1.0, min_length=10, max_length=16, jitter_value=0.5),
    "colorist-wash": PaintStyle(threshold=200, brushes=(8, 4, 2), curvature=1.0, blur_factor=0.5, opacity=0.5,
                                grid_factor=1.0, min_length=4, max_length=16, jitter_r=0.3, jitter_g=0.3, jitter_b=0.3),
    "pointillist": PaintStyle(threshold=100, brushes=(4, 2), curvature=1.0, blur_factor=0.5, opacity=1.0,
                              grid_factor=0.5, min_length=0, max_length=0, jitter_value=1.0, jitter_hue=0.3),
}
"""The paper's four named styles (section 4). Pointillist strokes have length 0: round dots."""


def paint_style(style: "str | PaintStyle", **changes) -> PaintStyle:
    """The checked :class:`PaintStyle` of a preset name (or a style) with ``changes`` to its fields by name."""
    if isinstance(style, str):
        if style not in PRESETS:
            raise InputError(f"unknown painting style {style!r}; choose from {', '.join(PRESETS)}")
        style = PRESETS[style]
    return style.replace(**changes).validate()
