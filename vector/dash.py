"""Stroke dashing (``stroke-dasharray``, ``stroke-dashoffset``): cut flattened outlines into dashes.

Each dash becomes its own open subpath, so the stroker gives it caps and inner joins as SVG 2 §13.5.5 says.
Dash boundaries are placed by arc length along the flattened lines in device pixels (dash lengths are scaled by
the shape's mean scale ``sqrt|det|``: exact under rotations and uniform scales); the cut points are
differentiable in the lines' ends, arc lengths included, so gradients see the dashes slide along a stretching
outline. A zero-length dash ("0 4" with round caps) is kept as a zero-length subpath: a dot.
"""

from __future__ import annotations

import torch

#: Dashes per subpath beyond which the pattern is ignored (drawn solid), to bound memory.
MAX_DASHES = 20_000


def dash_intervals(pattern: tuple, offset: float, total: float) -> "list | None":
    """On-intervals [(d0, d1)] of a dash ``pattern`` (even length, positive sum) shifted by ``offset`` along
    a subpath of length ``total``; None when there would be more than :data:`MAX_DASHES`."""
    period = sum(pattern)
    pos = -(offset % period)
    out, k = [], 0
    while pos <= total:
        length = pattern[k % len(pattern)]
        if k % 2 == 0 and pos + length >= 0:
            out.append((max(pos, 0.0), min(pos + length, total)))
            if len(out) > MAX_DASHES:
                return None
        pos += length
        k += 1
        if k > 4 * MAX_DASHES:
            return None
    return out


def dash_lines(start, end, subpath, n_subpaths: int, dashes: dict) -> tuple:
    """Cut the lines of the subpaths in ``dashes`` ({subpath id: (pattern px, offset px)}) into dashes.

    ``start``/``end`` (L, 2), ``subpath`` (L,) in subpath order. Returns (start, end, subpath, origin) where
    dashes get new ids from ``n_subpaths`` up and ``origin`` (S,) maps every subpath id (old and new) to the
    subpath it came from; lines of other subpaths are kept as they are, in their order.
    """
    dev = start.device
    keep = torch.ones(subpath.shape[0], dtype=torch.bool, device=dev)
    pieces_a, pieces_b, pieces_s, origin = [], [], [], list(range(n_subpaths))
    for u, (pattern, offset) in dashes.items():
        idx = torch.nonzero(subpath == u).squeeze(1)
        if idx.numel() == 0:
            continue
        a, b = start[idx], end[idx]
        length = ((b - a) ** 2).sum(-1).add(1e-12).sqrt()  # differentiable: dashes slide as the outline stretches
        s1 = torch.cumsum(length, 0)
        s0 = s1 - length
        intervals = dash_intervals(pattern, offset, float(s1[-1].detach()))
        if intervals is None:
            continue
        keep[idx] = False
        if not intervals:
            continue
        d = torch.tensor(intervals, dtype=length.dtype, device=dev)
        d0, d1 = d[:, :1], torch.minimum(d[:, 1:], s1[-1])  # a dash cut by the end follows the end
        s0d, s1d, d1d = s0.detach(), s1.detach(), d1.detach()
        overlap = (s1d[None] > d0) & (s0d[None] < d1d)
        # a zero-length dash sits on the first line that reaches it
        point = (d1d - d0 <= 1e-9) & (s0d[None] <= d0) & (s1d[None] >= d0)
        point &= torch.cumsum(point.int(), 1) == 1
        di, li = torch.nonzero(overlap | point, as_tuple=True)
        span = length[li].clamp_min(1e-12)
        t0 = ((d0[di, 0] - s0[li]) / span).clamp(0, 1)[:, None]
        t1 = ((d1[di, 0] - s0[li]) / span).clamp(0, 1)[:, None]
        vec = b[li] - a[li]
        pieces_a.append(a[li] + vec * t0)
        pieces_b.append(a[li] + vec * t1)
        pieces_s.append(len(origin) + di)
        origin.extend([u] * len(intervals))
    if not pieces_a:
        return start, end, subpath, torch.arange(n_subpaths, device=dev)
    return (torch.cat([start[keep], *pieces_a]), torch.cat([end[keep], *pieces_b]),
            torch.cat([subpath[keep], *pieces_s]), torch.tensor(origin, dtype=torch.long, device=dev))
