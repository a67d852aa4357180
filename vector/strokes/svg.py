"""Write a painting's strokes as an editable SVG: one ``<path>`` per stroke (the Catmull-Rom spline through
its control points as cubic Béziers, ``stroke-width`` = 2R, round caps and joins, its colour and opacity),
grouped per brush as ``<g id="brush-R">`` in painting order over a background ``<rect>``.

Tens of thousands of strokes are written without a Python call per number or per stroke: every stroke's
``<path>`` element is laid out in one row of a NUL-padded byte matrix (numbers as ASCII digits computed with
NumPy), and the NUL bytes are dropped in one pass.
"""

from __future__ import annotations

import numpy as np

from vector.strokes.curves import Strokes, bezier_controls

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex(colour: np.ndarray) -> np.ndarray:
    """RGB colours (N, 3) in [0, 1] as ``rrggbb`` ASCII rows (N, 6) uint8."""
    rgb = np.clip(np.rint(colour * 255), 0, 255).astype(np.int64)
    return _HEX[np.stack([rgb >> 4, rgb & 15], axis=-1).reshape(len(rgb), 6)]


def decimal_ascii(values: np.ndarray, decimals: int) -> np.ndarray:
    """Each of ``values`` (N,) as decimal text rounded to ``decimals`` places, trailing zeros dropped ("12.5",
    "3", "-0.07"; never "-0"), as a NUL-padded ASCII matrix (N, W) uint8 (read a row with its NULs removed)."""
    values = np.asarray(values, dtype=np.float64)
    scale = 10 ** decimals
    q = np.rint(np.abs(values) * scale)
    q = q.astype(np.int32 if q.max(initial=0) < 2 ** 31 else np.int64)
    whole, frac = np.divmod(q, scale)
    int_digits = len(str(int(whole.max(initial=0))))
    out = np.zeros((len(q), 2 + int_digits + decimals), dtype=np.uint8)
    out[:, 0] = ((values < 0) & (q > 0)) * np.uint8(ord("-"))
    rest = whole
    for k in range(int_digits):                   # units digit always, higher ones while any remain
        rest, digit = np.divmod(rest, 10)
        out[:, int_digits - k] = (48 + digit) * ((rest > 0) | (digit > 0) | (k == 0))
    out[:, int_digits + 1] = (frac > 0) * np.uint8(ord("."))
    for j in range(decimals):                     # fractional digits up to the last non-zero one
        place = 10 ** (decimals - 1 - j)
        digit, left = np.divmod(frac, place)
        out[:, int_digits + 2 + j] = (48 + digit) * ((digit > 0) | (left > 0))
        frac = left
    return out


def path_elements(strokes: Strokes, decimals: int = 2) -> tuple:
    """Every stroke's ``<path d="M x0 y0 C ..." stroke="#rrggbb" stroke-width="2R"[ stroke-opacity="a"]/>``
    line (a dot, ``M x y l0 0``, for a one-point stroke), concatenated in painting order.

    Returns ``(text bytes, offsets (S+1,) int64)``: stroke ``i``'s line is ``text[offsets[i]:offsets[i+1]]``.
    """
    s = len(strokes)
    if s == 0:
        return b"", np.zeros(1, dtype=np.int64)
    controls = bezier_controls(strokes.points.detach(), strokes.count).cpu().numpy()   # (S, P-1, 4, 2)
    counts = strokes.count.cpu().numpy() - 1                                           # segments per stroke
    inner = controls[:, :, 1:].reshape(s, -1)                                          # (S, (P-1)*6)
    valid = np.arange(inner.shape[1])[None, :] < 6 * counts[:, None]
    starts = strokes.points.detach()[:, 0].cpu().numpy().reshape(s, 2)

    x, y = decimal_ascii(starts[:, 0], decimals), decimal_ascii(starts[:, 1], decimals)
    numbers = decimal_ascii(inner[valid], decimals)
    widths = decimal_ascii((2 * strokes.radius.detach()).cpu().numpy(), 3)
    opacity = strokes.opacity.detach().cpu().numpy()
    alpha = decimal_ascii(opacity, 3)
    alpha[opacity >= 1] = 0
    slot = 1 + numbers.shape[1]                                                        # " n" per number
    pieces = [b'<path d="M', x, b" ", y, 4, inner.shape[1] * slot, b'" stroke="#', 6, b'" stroke-width="', widths,
              b'" stroke-opacity="', alpha, b'"/>\n']
    spans, at = [], 0
    for piece in pieces:
        n = len(piece) if isinstance(piece, bytes) else piece if isinstance(piece, int) else piece.shape[1]
        spans.append(slice(at, at + n))
        at += n
    rows = np.zeros((s, at), dtype=np.uint8)
    for piece, span in zip(pieces, spans):
        if isinstance(piece, bytes):
            rows[:, span] = np.frombuffer(piece, dtype=np.uint8)
        elif not isinstance(piece, int):
            rows[:, span] = piece
    join = rows[:, spans[4]]                                                           # after "M x y"
    join[counts > 0, 0] = ord("C")
    join[counts == 0] = np.frombuffer(b"l0 0", dtype=np.uint8)
    slots = rows[:, spans[5]].reshape(s, inner.shape[1], slot)                         # a view into rows
    slots[valid, 1:] = numbers
    slots[:, 1:, 0] = valid[:, 1:] * np.uint8(ord(" "))                               # "C" before the first
    rows[:, spans[7]] = _hex(strokes.colour.detach().cpu().numpy())
    rows[opacity >= 1, spans[10]] = 0
    kept = rows != 0
    offsets = np.zeros(s + 1, dtype=np.int64)
    np.cumsum(kept.sum(axis=1), out=offsets[1:])
    return rows[kept].tobytes(), offsets


def svg_text(strokes: Strokes, width: int, height: int, radii: "tuple | list", background=(1.0, 1.0, 1.0),
             decimals: int = 2) -> str:
    """The SVG document (``width`` x ``height`` user units = pixels). ``radii`` names each layer's group."""
    body, offsets = path_elements(strokes, decimals)
    layers = strokes.layer.cpu().numpy()
    breaks = np.flatnonzero(np.diff(layers)) + 1                # a new group wherever the layer changes
    bounds = [0, *breaks.tolist(), len(layers)] if len(layers) else []
    bg = "#" + _hex(np.asarray([background], dtype=np.float64))[0].tobytes().decode("ascii")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">\n',
             f'<rect id="canvas" width="{width}" height="{height}" fill="{bg}"/>\n']
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        parts.append(f'<g id="brush-{radii[int(layers[lo])]:g}" fill="none" stroke-linecap="round" '
                     f'stroke-linejoin="round">\n')
        parts.append(body[offsets[lo]:offsets[hi]].decode("ascii"))
        parts.append("</g>\n")
    parts.append("</svg>\n")
    return "".join(parts)
