"""Paints: colour parsing, linear/radial gradients read from the XML, and their evaluation at pixels.

svgelements does not model gradients, so ``read_gradient`` reads ``linearGradient``/``radialGradient``
elements itself: ``gradientUnits``, ``gradientTransform``, ``spreadMethod``, ``href`` inheritance and stops.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import torch
from svgelements import Color, Matrix

from core.errors import InputError
from vector.model import Gradient

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


def property_value(element: ET.Element, name: str, default=None):
    """A presentation property of one element: inline style wins over the attribute."""
    return style_properties(element).get(name, element.get(name, default))


def parse_color(text: str, current_color: str = "black"):
    """Colour string -> (rgb tuple in [0, 1], alpha in [0, 1]) or None for ``none``/``transparent``."""
    text = (text or "").strip()
    if text in ("", "none"):
        return None
    if text == "currentColor":
        text = current_color or "black"
    color = Color(text)
    if color.value is None:
        return None
    alpha = color.opacity
    if alpha == 0 and text == "transparent":
        return None
    return (color.red / 255.0, color.green / 255.0, color.blue / 255.0), alpha


def parse_number(text, default: float) -> float:
    """A plain number with an optional ``px`` unit; the default when missing, unreadable or not finite."""
    if text is None:
        return default
    try:
        value = float(str(text).strip().removesuffix("px"))
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def _length(text, default: float, bbox_units: bool, extent: float) -> float:
    """Gradient coordinate: percentages are of the bbox (0..1) or of the viewport ``extent``."""
    if text is None:
        return default
    text = str(text).strip()
    if text.endswith("%"):
        frac = parse_number(text[:-1], 100.0 * default) / 100.0
        return frac if bbox_units else frac * extent
    return parse_number(text, default)


def matrix_tensor(text) -> torch.Tensor:
    """SVG transform string -> (2, 3) float64 tensor [[a, c, e], [b, d, f]]."""
    try:
        m = Matrix(text) if text else Matrix()
    except Exception:  # svgelements raises assorted errors (IndexError, TypeError, ValueError) on broken input
        raise InputError(f"transform {str(text)[:60]!r} cannot be parsed") from None
    values = torch.tensor([[m.a, m.c, m.e], [m.b, m.d, m.f]], dtype=torch.float64)
    if not (torch.isfinite(values.float()).all() and abs(m.a * m.d - m.b * m.c) > 1e-12):
        raise InputError(f"transform {str(text)[:60]!r} is not a finite, invertible transform")
    return values


def _chain(element: ET.Element, by_id: dict) -> list:
    """The gradient and those it inherits from through ``href`` (cycle-safe)."""
    chain, seen = [], set()
    while element is not None and id(element) not in seen:
        seen.add(id(element))
        chain.append(element)
        ref = element.get("href") or element.get(XLINK_HREF)
        element = by_id.get(ref[1:]) if ref and ref.startswith("#") else None
    return chain


def read_gradient(element: ET.Element, by_id: dict, viewport: tuple, device="cpu") -> Gradient:
    """Read a ``linearGradient``/``radialGradient`` element (following ``href``) into a :class:`Gradient`."""
    chain = _chain(element, by_id)

    def attr(name, default=None):
        for el in chain:
            if el.get(name) is not None:
                return el.get(name)
        return default

    kind = local_name(element.tag).replace("Gradient", "")
    units = attr("gradientUnits", "objectBoundingBox")
    bbox = units != "userSpaceOnUse"
    w, h = viewport
    diag = math.sqrt((w * w + h * h) / 2.0)
    if kind == "linear":
        geometry = [
            _length(attr("x1"), 0.0, bbox, w),
            _length(attr("y1"), 0.0, bbox, h),
            _length(attr("x2"), 1.0 if bbox else w, bbox, w),
            _length(attr("y2"), 0.0, bbox, h),
        ]
    else:
        cx = _length(attr("cx"), 0.5 if bbox else 0.5 * w, bbox, w)
        cy = _length(attr("cy"), 0.5 if bbox else 0.5 * h, bbox, h)
        geometry = [
            cx,
            cy,
            _length(attr("r"), 0.5 if bbox else 0.5 * diag, bbox, diag),
            _length(attr("fx"), cx, bbox, w),
            _length(attr("fy"), cy, bbox, h),
            _length(attr("fr"), 0.0, bbox, diag),
        ]
    stop_elements = []
    for el in chain:
        stop_elements = [c for c in el if local_name(c.tag) == "stop"]
        if stop_elements:
            break
    offsets, rgbs, alphas, last = [], [], [], 0.0
    for stop in stop_elements:
        off = str(stop.get("offset", "0")).strip()
        value = parse_number(off[:-1], 0.0) / 100.0 if off.endswith("%") else parse_number(off, 0.0)
        last = max(last, min(max(value, 0.0), 1.0))
        parsed = parse_color(property_value(stop, "stop-color", "black"))
        rgb, alpha = parsed if parsed else ((0.0, 0.0, 0.0), 0.0)
        offsets.append(last)
        rgbs.append(rgb)
        alphas.append(alpha * parse_number(property_value(stop, "stop-opacity"), 1.0))
    if not stop_elements:
        raise InputError(f"gradient {element.get('id')!r} has no <stop> elements")
    t = lambda v: torch.tensor(v, dtype=torch.float32, device=device)  # noqa: E731
    gradient = Gradient(
        kind=kind,
        element=element,
        stop_elements=stop_elements,
        geometry=t(geometry),
        offsets=t(offsets),
        stop_rgb=t(rgbs),
        stop_opacity=t(alphas),
        units="objectBoundingBox" if bbox else "userSpaceOnUse",
        transform=matrix_tensor(attr("gradientTransform")).to(device=device, dtype=torch.float32),
        spread=attr("spreadMethod", "pad"),
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
