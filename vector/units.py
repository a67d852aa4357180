"""CSS lengths in SVG user units (CSS Values and Units 4, SVG 2 §8.9): numbers, absolute and font-relative units, percentages.

svgelements resolves ``em``/``ex`` against a fixed font size and knows no ``ch``/``cap``/``ic``/``lh``/``rem``,
so the parser resolves every length itself, *before* svgelements: each element gets its computed
``font-size`` (inherited, with keywords, ``%`` and ``em`` relative to the parent) and the size of its nearest
viewport. Without font metrics the spec's fallbacks are used: ``ex`` = ``ch`` = 0.5em, ``ic`` = 1em, ``cap``
= 0.7em (the font's cap height is unknown; 0.7em is the usual value for Latin fonts), ``lh`` = the computed
``line-height`` (``normal`` = 1.2em), ``rem`` = the root element's font size. The initial font size is
``medium`` = 16 px (CSS Fonts 4).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_FONT_SIZE = 16.0
NORMAL_LINE_HEIGHT = 1.2
ABSOLUTE = {"": 1.0, "px": 1.0, "in": 96.0, "cm": 96.0 / 2.54, "mm": 96.0 / 25.4, "q": 96.0 / 101.6, "pt": 4.0 / 3.0, "pc": 16.0}
FONT_RELATIVE = {"em": 1.0, "ex": 0.5, "ch": 0.5, "ic": 1.0, "cap": 0.7}
FONT_KEYWORDS = {"xx-small": 9.0, "x-small": 10.0, "small": 13.0, "medium": 16.0, "large": 18.0, "x-large": 24.0,
                 "xx-large": 32.0, "xxx-large": 48.0}
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*|%)\s*$")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class LengthContext:
    """What relative lengths of one element resolve against: computed font size and line height (px), the
    root's font size, and the nearest viewport's size in user units (for percentages)."""

    font_size: float = DEFAULT_FONT_SIZE
    root_font_size: float = DEFAULT_FONT_SIZE
    line_height: float = DEFAULT_FONT_SIZE * NORMAL_LINE_HEIGHT
    viewport: tuple = (100.0, 100.0)

    def extent(self, axis: str) -> float:
        """The percentage base: viewport width ("x"), height ("y") or normalised diagonal ("xy")."""
        w, h = self.viewport
        return {"x": w, "y": h}.get(axis, math.sqrt((w * w + h * h) / 2.0))


def split_length(text) -> "tuple | None":
    """``"1.5em"`` -> (1.5, "em"); None when the text is not a number with an optional unit."""
    if text is None:
        return None
    m = _LENGTH.match(str(text))
    if not m:
        return None
    return float(m.group(1)), m.group(2).lower()


def resolve_length(text, ctx: LengthContext, axis: str = "xy") -> "float | None":
    """A length in user units, or None when ``text`` is missing or not a valid length."""
    parts = split_length(text)
    if parts is None:
        return None
    value, unit = parts
    if unit in ABSOLUTE:
        out = value * ABSOLUTE[unit]
    elif unit in FONT_RELATIVE:
        out = value * FONT_RELATIVE[unit] * ctx.font_size
    elif unit == "rem":
        out = value * ctx.root_font_size
    elif unit == "lh":
        out = value * ctx.line_height
    elif unit == "%":
        out = value / 100.0 * ctx.extent(axis)
    else:
        return None
    return out if math.isfinite(out) else None


def resolve_font_size(text, parent: float, root: float) -> "float | None":
    """Computed ``font-size`` in px from its specified value (None: invalid, keep the inherited one)."""
    text = (text or "").strip().lower()
    if text in FONT_KEYWORDS:
        return FONT_KEYWORDS[text]
    if text in ("smaller", "larger"):
        return parent / 1.2 if text == "smaller" else parent * 1.2
    parts = split_length(text)
    if parts is None or parts[0] < 0:
        return None
    value, unit = parts
    if unit == "%":
        return value / 100.0 * parent
    ctx = LengthContext(font_size=parent, root_font_size=root, line_height=parent * NORMAL_LINE_HEIGHT)
    return resolve_length(text, ctx)


def resolve_line_height(text, font_size: float, root: float) -> "float | None":
    """Computed ``line-height`` in px: ``normal``, a number (× font size), a length or a percentage."""
    text = (text or "").strip().lower()
    if text == "normal":
        return NORMAL_LINE_HEIGHT * font_size
    try:
        value = float(text)
        return value * font_size if value >= 0 else None
    except ValueError:
        pass
    parts = split_length(text)
    if parts is None or parts[0] < 0:
        return None
    if parts[1] == "%":
        return parts[0] / 100.0 * font_size
    return resolve_length(text, LengthContext(font_size=font_size, root_font_size=root, line_height=NORMAL_LINE_HEIGHT * font_size))


def parse_number_or_percent(text) -> "float | None":
    """``0.5`` or ``50%`` -> 0.5 (opacities, stop offsets); None when invalid."""
    parts = split_length(text)
    if parts is None or parts[1] not in ("", "%"):
        return None
    return parts[0] / 100.0 if parts[1] == "%" else parts[0]
