"""Write a painting's strokes as an editable SVG: one ``<path>`` per stroke (the Catmull-Rom spline through
its control points as cubic Béziers, ``stroke-width`` = 2R, round caps and joins, its colour and opacity),
grouped per brush as ``<g id="brush-R">`` in painting order over a background ``<rect>``.
"""

from __future__ import annotations

import numpy as np

from vector.strokes.curves import Strokes, bezier_controls


def _hex(colour: np.ndarray) -> list:
    rgb = np.clip(np.rint(colour * 255), 0, 255).astype(np.int64)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    return [f"#{v:06x}" for v in packed.tolist()]


def path_data(strokes: Strokes, decimals: int = 2) -> list:
    """The ``d`` attribute of every stroke: ``M x0 y0 C ...`` (a dot, ``M x y l 0 0``, for one point)."""
    controls = bezier_controls(strokes.points.detach(), strokes.count).cpu().numpy()   # (S, P-1, 4, 2)
    counts = strokes.count.cpu().numpy() - 1
    inner = controls[:, :, 1:].reshape(len(counts), -1)                               # (S, (P-1)*6)
    valid = np.arange(inner.shape[1])[None, :] < 6 * counts[:, None]
    numbers = inner[valid].tolist()                                                    # stroke by stroke
    starts = strokes.points.detach()[:, 0].cpu().numpy().tolist()
    number = f"%.{decimals}f"
    head = f"M{number} {number}"
    formats: dict = {}
    out = []
    at = 0
    for (x, y), n in zip(starts, counts.tolist()):
        if n == 0:
            out.append(head % (x, y) + "l0 0")
            continue
        fmt = formats.get(n)
        if fmt is None:
            fmt = formats[n] = head + "C" + " ".join([number] * (6 * n))
        out.append(fmt % (x, y, *numbers[at:at + 6 * n]))
        at += 6 * n
    return out


def svg_text(strokes: Strokes, width: int, height: int, radii: "tuple | list", background=(1.0, 1.0, 1.0),
             decimals: int = 2) -> str:
    """The SVG document (``width`` x ``height`` user units = pixels). ``radii`` names each layer's group."""
    data = path_data(strokes, decimals)
    colours = _hex(strokes.colour.detach().clamp(0, 1).cpu().numpy())
    widths = (2 * strokes.radius.detach()).cpu().numpy().tolist()
    opacity = strokes.opacity.detach().cpu().numpy().tolist()
    layers = strokes.layer.cpu().numpy().tolist()
    bg = _hex(np.asarray([background], dtype=np.float64))[0]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">\n',
             f'<rect id="canvas" width="{width}" height="{height}" fill="{bg}"/>\n']
    current = None
    for d, c, w, o, layer in zip(data, colours, widths, opacity, layers):
        if layer != current:
            if current is not None:
                parts.append("</g>\n")
            radius = radii[layer]
            parts.append(f'<g id="brush-{radius:g}" fill="none" stroke-linecap="round" stroke-linejoin="round">\n')
            current = layer
        alpha = "" if o >= 1 else f' stroke-opacity="{o:.3f}"'
        parts.append(f'<path d="{d}" stroke="{c}" stroke-width="{w:g}"{alpha}/>\n')
    if current is not None:
        parts.append("</g>\n")
    parts.append("</svg>\n")
    return "".join(parts)
