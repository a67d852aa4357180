"""Paints: colour parsing, linear/radial gradients read from the XML, and their evaluation at pixels.

svgelements does not model gradients, so ``read_gradient`` reads ``linearGradient``/``radialGradient``
elements itself: ``gradientUnits``, ``gradientTransform``, ``spreadMethod``, ``href`` inheritance and stops.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import torch
from svgelements import Color

from vector.model import Gradient
from vector.pathdata import parse_transform
from vector.units import parse_number_or_percent, resolve_length

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def unit_clamp(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] in the forward pass but pass gradients straight through.

    torch's clamp has a zero gradient at the bounds themselves, which would freeze every black, white or fully
    opaque paint; paint values are kept in range by the optimiser's projection, so the clamp only guards input.
    """
    return x + (x.clamp(0.0, 1.0) - x).detach()


def local_name(tag) -> str:
    """Element tag without its namespace (``{ns}rect`` -> ``rect``); '' for comments."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def style_properties(element: ET.Element) -> dict:
    """The ``style="a: b; c: d"`` attribute as a dict."""
    props = {}
    for item in element.get("style", "").split(";"):
        if ":" in item:
            key, value = item.split(":", 1)
            props[key.strip()] = value.strip()
    return props


_UNKNOWN_NAME = Color.parse_color_lookup("no-such-colour")
#: svgelements' keyword table lists ``aliceblue`` twice (the first, wrong, entry wins) and lacks CSS Color 4's
#: ``rebeccapurple``: corrected here, before its lookup.
_NAME_FIXES = {"aliceblue": (240, 248, 255), "rebeccapurple": (102, 51, 153)}
_FUNC = re.compile(r"^(rgba?|hsla?)\(\s*(.*?)\s*\)$", re.I | re.S)
_HUE_UNITS = {"": 1.0, "deg": 1.0, "grad": 0.9, "rad": 180.0 / math.pi, "turn": 360.0}


class InvalidColor(ValueError):
    """A colour value that does not parse (the declaration is then ignored, per CSS)."""


def _function_args(body: str) -> tuple:
    """``r, g, b, a`` or ``r g b / a`` -> ([components], alpha text or None)."""
    if "," in body:
        parts = [p.strip() for p in body.split(",")]
        return (parts[:3], parts[3]) if len(parts) == 4 else (parts, None)
    main, _, alpha = body.partition("/")
    return main.split(), (alpha.strip() if alpha else None)


def _alpha(text) -> float:
    if text is None:
        return 1.0
    value = text.strip()
    try:
        out = float(value[:-1]) / 100.0 if value.endswith("%") else float(value)
    except ValueError:
        raise InvalidColor(text) from None
    if not math.isfinite(out):
        raise InvalidColor(text)
    return min(max(out, 0.0), 1.0)


def _hsl_to_rgb(h: float, s: float, l: float) -> tuple:
    """CSS Color 4 ``hsl()`` -> rgb in [0, 1] (h in degrees, s and l in [0, 1])."""
    def f(n):
        k = (n + h / 30.0) % 12
        a = s * min(l, 1 - l)
        return l - a * max(-1.0, min(k - 3, 9 - k, 1.0))
    return f(0), f(8), f(4)


def color_value(text: str):
    """A CSS colour -> (rgb tuple in [0, 1], alpha in [0, 1]); raises :class:`InvalidColor`.

    Our own parser (svgelements reads ``rgb()`` floats, ``hsl()`` and ``#rgba`` wrongly): ``#rgb``, ``#rgba``,
    ``#rrggbb``, ``#rrggbbaa``, ``rgb()``/``rgba()`` with integers, floats or percentages (clamped to the
    range), comma or space syntax with ``/ alpha``, ``hsl()``/``hsla()`` (hue in deg/grad/rad/turn; saturation
    and lightness clamped to [0, 100%]), ``transparent`` and the SVG/CSS colour keywords.
    """
    text = text.strip()
    low = text.lower()
    if low.startswith("#"):
        digits = low[1:]
        if len(digits) not in (3, 4, 6, 8) or any(c not in "0123456789abcdef" for c in digits):
            raise InvalidColor(text)
        if len(digits) in (3, 4):
            digits = "".join(c * 2 for c in digits)
        vals = [int(digits[i : i + 2], 16) / 255.0 for i in range(0, len(digits), 2)]
        return tuple(vals[:3]), (vals[3] if len(vals) == 4 else 1.0)
    m = _FUNC.match(low)
    if m:
        comps, alpha = _function_args(m.group(2))
        if len(comps) != 3:
            raise InvalidColor(text)
        if not all(re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:%|deg|grad|rad|turn)?", c) for c in comps):
            raise InvalidColor(text)  # no nan/inf or junk components
        try:
            if m.group(1).startswith("rgb"):
                rgb = tuple(min(max(float(c[:-1]) / 100.0 if c.endswith("%") else float(c) / 255.0, 0.0), 1.0) for c in comps)
            else:
                hue = re.match(r"^([+-]?[\d.eE+-]+)(deg|grad|rad|turn|)$", comps[0])
                if not hue or not all(c.endswith("%") or re.match(r"^[+-]?[\d.]+$", c) for c in comps[1:]):
                    raise InvalidColor(text)
                h = float(hue.group(1)) * _HUE_UNITS[hue.group(2)] % 360.0
                s, l = (min(max(float(c.rstrip("%")) / 100.0, 0.0), 1.0) for c in comps[1:])
                rgb = _hsl_to_rgb(h, s, l)
        except ValueError:
            raise InvalidColor(text) from None
        return rgb, _alpha(alpha)
    name = low.replace(" ", "")
    if name == "transparent":
        return (0.0, 0.0, 0.0), 0.0
    if name in _NAME_FIXES:
        return tuple(c / 255.0 for c in _NAME_FIXES[name]), 1.0
    if not re.fullmatch(r"[a-z]+", name) or (name != "black" and Color.parse_color_lookup(name) == _UNKNOWN_NAME):
        raise InvalidColor(text)
    c = Color(name)
    return (c.red / 255.0, c.green / 255.0, c.blue / 255.0), 1.0


def parse_color(text: str, current_color: str = "black"):
    """Colour string -> (rgb tuple in [0, 1], alpha in [0, 1]) or None for ``none``/``transparent``/invalid."""
    text = (text or "").strip()
    if text in ("", "none"):
        return None
    if text.lower() == "currentcolor":
        text = current_color or "black"
    try:
        rgb, alpha = color_value(text)
    except InvalidColor:
        return None
    if alpha == 0 and text.lower() == "transparent":
        return None
    return rgb, alpha


GRADIENT_TAGS = ("linearGradient", "radialGradient")


def matrix_tensor(m: tuple) -> torch.Tensor:
    """(a, b, c, d, e, f) -> (2, 3) float64 tensor [[a, c, e], [b, d, f]]."""
    a, b, c, d, e, f = m
    return torch.tensor([[a, c, e], [b, d, f]], dtype=torch.float64)


def _chain(element: ET.Element, by_id: dict) -> list:
    """The gradient and the gradients it inherits from through ``href`` (cycle-safe; a reference to anything
    but a gradient ends the chain, as SVG 2 §14.2 says it is ignored)."""
    chain, seen = [], set()
    while element is not None and id(element) not in seen and local_name(element.tag) in GRADIENT_TAGS:
        seen.add(id(element))
        chain.append(element)
        ref = element.get("href") or element.get(XLINK_HREF)
        element = by_id.get(ref.strip()[1:]) if ref and ref.strip().startswith("#") else None
    return chain


def read_gradient(element: ET.Element, by_id: dict, ctx, stop_paint, device="cpu"):
    """Read a ``linearGradient``/``radialGradient`` (following ``href``) into a :class:`Gradient`.

    ``ctx``: :class:`vector.units.LengthContext` of the referencing element (userSpaceOnUse percentages are of
    its viewport); ``stop_paint(stop) -> (rgb, alpha)``: a stop's computed colour and opacity (the parser's
    cascade). Attributes are inherited along the ``href`` chain (``x1``.. only from gradients of the same kind;
    units, transform, spread and stops from either kind). Returns a string instead (why it is not rendered)
    when the gradient is in error: no stops (SVG: painted as ``none``), a negative radius, or a
    non-invertible ``gradientTransform``. An unparseable ``gradientTransform`` is ignored.
    """
    chain = _chain(element, by_id)
    kind = local_name(element.tag).replace("Gradient", "")

    def attr(name, default=None, same_kind=False):
        for el in chain:
            if same_kind and local_name(el.tag) != element.tag.rsplit("}", 1)[-1]:
                continue
            if el.get(name) is not None:
                return el.get(name)
        return default

    units = "userSpaceOnUse" if attr("gradientUnits") == "userSpaceOnUse" else "objectBoundingBox"
    bbox = units == "objectBoundingBox"

    def length(name, default, axis):
        text = attr(name, same_kind=True)
        if text is None:
            return default
        if bbox:
            value = parse_number_or_percent(text)
        else:
            value = resolve_length(text, ctx, axis)
        return default if value is None else value

    w, h = ctx.extent("x"), ctx.extent("y")
    if kind == "linear":
        geometry = [length("x1", 0.0, "x"), length("y1", 0.0, "y"), length("x2", 1.0 if bbox else w, "x"), length("y2", 0.0, "y")]
    else:
        cx = length("cx", 0.5 if bbox else 0.5 * w, "x")
        cy = length("cy", 0.5 if bbox else 0.5 * h, "y")
        r = length("r", 0.5 if bbox else 0.5 * ctx.extent("xy"), "xy")
        fr = length("fr", 0.0, "xy")
        if r < 0 or fr < 0:
            return f"negative radius in gradient {element.get('id')!r}: not rendered"
        geometry = [cx, cy, r, length("fx", cx, "x"), length("fy", cy, "y"), fr]
    stop_elements = []
    for el in chain:
        stop_elements = [c for c in el if local_name(c.tag) == "stop"]
        if stop_elements:
            break
    if not stop_elements:
        return f"gradient {element.get('id')!r} has no <stop> elements: painted as none"
    offsets, rgbs, alphas, last = [], [], [], 0.0
    for stop in stop_elements:
        value = parse_number_or_percent(stop.get("offset", "0"))
        last = max(last, min(max(value if value is not None else 0.0, 0.0), 1.0))
        rgb, alpha = stop_paint(stop)
        offsets.append(last)
        rgbs.append(rgb)
        alphas.append(alpha)
    text = attr("gradientTransform")
    matrix = parse_transform(text) if text is not None else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    matrix = matrix or (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    if abs(matrix[0] * matrix[3] - matrix[1] * matrix[2]) < 1e-12:
        return f"gradient {element.get('id')!r} has a non-invertible gradientTransform: not rendered"
    spread = attr("spreadMethod", "pad")
    t = lambda v: torch.tensor(v, dtype=torch.float32, device=device)  # noqa: E731
    gradient = Gradient(
        kind=kind,
        element=element,
        stop_elements=stop_elements,
        geometry=t(geometry),
        offsets=t(offsets),
        stop_rgb=t(rgbs),
        stop_opacity=t(alphas),
        units=units,
        transform=matrix_tensor(matrix).to(device=device, dtype=torch.float32),
        spread=spread if spread in ("pad", "reflect", "repeat") else "pad",
    )
    gradient.original = {k: getattr(gradient, k).detach().clone() for k in ("geometry", "offsets", "stop_rgb", "stop_opacity")}
    return gradient


def _affine_inverse(m: torch.Tensor) -> torch.Tensor:
    """Inverse of a (2, 3) affine map."""
    a, c, e = m[0, 0], m[0, 1], m[0, 2]
    b, d, f = m[1, 0], m[1, 1], m[1, 2]
    det = a * d - b * c
    inv = torch.stack([torch.stack([d, -c]), torch.stack([-b, a])]) / det
    return torch.cat([inv, -(inv @ torch.stack([e, f]))[:, None]], dim=1)


def compose(m1: torch.Tensor, m2: torch.Tensor) -> torch.Tensor:
    """(2, 3) affine ``m1 ∘ m2`` (apply m2 first)."""
    return torch.cat([m1[:, :2] @ m2[:, :2], (m1[:, :2] @ m2[:, 2:] + m1[:, 2:])], dim=1)


def _gradient_parameter(gradient: Gradient, q: torch.Tensor) -> torch.Tensor:
    """Gradient parameter t (P,) at points ``q`` (P, 2) in gradient space, before spreading."""
    g = gradient.geometry
    if gradient.kind == "linear":
        p0, p1 = g[0:2], g[2:4]
        d = p1 - p0
        return ((q - p0) @ d) / (d @ d).clamp_min(1e-12)
    center, r, focus, fr = g[0:2], g[2], g[3:5], g[5]
    # SVG 1.1: a focal point outside the end circle is moved onto it.
    offset = focus - center
    dist = offset.norm()
    focus = torch.where(dist > 0.999 * r, center + offset * (0.999 * r / dist.clamp_min(1e-12)), focus)
    cd, pd, dr = center - focus, q - focus, r - fr
    a = cd @ cd - dr * dr
    b = pd @ cd + fr * dr
    c = (pd * pd).sum(-1) - fr * fr
    root = (b * b - a * c).clamp_min(1e-12).sqrt()
    return (b - root) / a if float(a.detach()) < -1e-9 else c / (2 * b).clamp_min(1e-12)


def _spread(t: torch.Tensor, method: str) -> torch.Tensor:
    if method == "repeat":
        return t - torch.floor(t)
    if method == "reflect":
        m = torch.remainder(t, 2.0)
        return 1.0 - (m - 1.0).abs()
    return t.clamp(0.0, 1.0)


def _stops_at(gradient: Gradient, t: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear stop interpolation: (P,) -> (P, 4) straight RGBA."""
    rgba = torch.cat([gradient.stop_rgb, gradient.stop_opacity[:, None]], dim=1)
    out = rgba[0].expand(t.shape[0], 4)
    o = gradient.offsets
    for k in range(rgba.shape[0] - 1):  # a handful of stops; vectorised over pixels
        span = o[k + 1] - o[k]
        if float(span) > 1e-6:
            ramp = ((t - o[k]) / span).clamp(0.0, 1.0)
        else:
            ramp = (t >= o[k + 1]).to(t.dtype)
        out = out + (rgba[k + 1] - rgba[k]) * ramp[:, None]
    return out


def gradient_rgba(gradient: Gradient, pixels: torch.Tensor, to_device: torch.Tensor) -> torch.Tensor:
    """Straight RGBA (P, 4) of ``gradient`` at device positions ``pixels`` (P, 2).

    ``to_device``: (2, 3) map from gradient space (after ``units`` and ``gradientTransform``) to device pixels.
    """
    inv = _affine_inverse(to_device)
    q = pixels @ inv[:, :2].T + inv[:, 2]
    t = _spread(_gradient_parameter(gradient, q), gradient.spread)
    return _stops_at(gradient, t)


def gradient_to_device(gradient: Gradient, shape_to_device: torch.Tensor, bbox: torch.Tensor) -> torch.Tensor:
    """(2, 3) map from gradient coordinates to device pixels for one shape.

    ``bbox``: (4,) x0, y0, x1, y1 of the shape in its user space (used for objectBoundingBox units).
    """
    m = shape_to_device
    if gradient.units == "objectBoundingBox":
        size = (bbox[2:] - bbox[:2]).clamp_min(1e-6)
        zero = torch.zeros((), dtype=bbox.dtype, device=bbox.device)
        box = torch.stack([torch.stack([size[0], zero, bbox[0]]), torch.stack([zero, size[1], bbox[1]])])
        m = compose(m, box)
    return compose(m, gradient.transform)


_URL = re.compile(r"url\(\s*['\"]?#([^)'\"]+)['\"]?\s*\)")


def paint_reference(text: str):
    """The id named by ``url(#id)`` in a paint string, or None."""
    match = _URL.search(text or "")
    return match.group(1) if match else None
