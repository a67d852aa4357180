"""Device-space geometry: transform control points and flatten cubic Béziers into line segments.

The segment count per cubic is chosen from its control polygon so that the chord error stays below
``tolerance`` pixels: for a cubic with second differences ``D = max|P0 - 2P1 + P2|, |P1 - 2P2 + P3|``
the deviation of an n-chord polyline is at most ``6 D / (8 n²)``, hence ``n = ceil(sqrt(0.75 D / tol))``.
The chosen parameters ``t`` carry no gradient; the line endpoints are differentiable in the control points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vector.model import Scene

MAX_PIECES = 64


@dataclass
class SceneIndex:
    """Static (value-independent) index structures of a scene, built once and cached on it.

    ``segments`` (S, 4): indices into the concatenated points; ``segment_subpath`` (S,);
    ``subpath_shape`` (U,); ``subpath_closed`` (U,) bool; ``point_shape`` (N,).
    """

    segments: torch.Tensor
    segment_subpath: torch.Tensor
    subpath_shape: torch.Tensor
    subpath_closed: torch.Tensor
    point_shape: torch.Tensor


def scene_index(scene: Scene) -> SceneIndex:
    """Build (or fetch from ``scene.cache``) the :class:`SceneIndex` of ``scene``."""
    key = ("index", len(scene.shapes))
    if key in scene.cache:
        return scene.cache[key]
    segs, seg_sub, sub_shape, sub_closed, point_shape = [], [], [], [], []
    base = 0
    for s_i, shape in enumerate(scene.shapes):
        for first, n_seg, closed in shape.subpaths:
            starts = base + first + 3 * torch.arange(n_seg)
            rows = starts[:, None] + torch.arange(4)
            if closed:  # a closed subpath ends exactly at its first point, however the points move
                rows[-1, 3] = base + first
            segs.append(rows)
            seg_sub.append(torch.full((n_seg,), len(sub_shape), dtype=torch.long))
            sub_shape.append(s_i)
            sub_closed.append(closed)
        point_shape.append(torch.full((shape.points.shape[0],), s_i, dtype=torch.long))
        base += shape.points.shape[0]
    cat = lambda xs, shape: torch.cat(xs) if xs else torch.zeros(shape, dtype=torch.long)  # noqa: E731
    index = SceneIndex(
        segments=cat(segs, (0, 4)),
        segment_subpath=cat(seg_sub, (0,)),
        subpath_shape=torch.tensor(sub_shape, dtype=torch.long),
        subpath_closed=torch.tensor(sub_closed, dtype=torch.bool),
        point_shape=cat(point_shape, (0,)),
    )
    scene.cache[key] = index
    return index


def shape_to_device(scene: Scene, width: int, height: int) -> torch.Tensor:
    """(M, 2, 3) maps from each shape's user space to output pixels (document transform × output scale)."""
    if not scene.shapes:
        return torch.zeros(0, 2, 3)
    scale = torch.tensor([width / scene.width, height / scene.height], dtype=torch.float32)
    mats = torch.stack([s.transform for s in scene.shapes])
    return mats * scale.to(mats.device)[None, :, None]


def device_points(scene: Scene, mats: torch.Tensor) -> torch.Tensor:
    """All control points (N, 2) in output pixels, shape after shape."""
    index = scene_index(scene)
    pts = torch.cat([s.points for s in scene.shapes])
    m = mats[index.point_shape.to(pts.device)]
    return torch.einsum("nij,nj->ni", m[:, :, :2], pts) + m[:, :, 2]


def _bezier(ctrl: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points of cubics ``ctrl`` (L, 4, 2) at parameters ``t`` (L,)."""
    t = t[:, None]
    u = 1 - t
    return u**3 * ctrl[:, 0] + 3 * u * u * t * ctrl[:, 1] + 3 * u * t * t * ctrl[:, 2] + t**3 * ctrl[:, 3]


def pieces_per_segment(ctrl: torch.Tensor, tolerance: float) -> torch.Tensor:
    """Adaptive number of chords (S,) for cubics ``ctrl`` (S, 4, 2) (no gradient)."""
    c = ctrl.detach()
    d1 = (c[:, 0] - 2 * c[:, 1] + c[:, 2]).norm(dim=-1)
    d2 = (c[:, 1] - 2 * c[:, 2] + c[:, 3]).norm(dim=-1)
    n = torch.ceil(torch.sqrt(0.75 * torch.maximum(d1, d2) / tolerance))
    return n.clamp(1, MAX_PIECES).long()


@dataclass
class Lines:
    """Flattened outlines: ``start``/``end`` (L, 2) in pixels, ``subpath`` (L,) ids, in path order."""

    start: torch.Tensor
    end: torch.Tensor
    subpath: torch.Tensor


def flatten(scene: Scene, points: torch.Tensor, tolerance: float = 0.25) -> Lines:
    """Flatten every cubic of the scene (device ``points`` from :func:`device_points`) into lines."""
    index = scene_index(scene)
    dev = points.device
    ctrl = points[index.segments.to(dev)]
    n = pieces_per_segment(ctrl, tolerance)
    seg_of_line = torch.repeat_interleave(torch.arange(len(n), device=dev), n)
    first_line = torch.cumsum(n, 0) - n
    k = torch.arange(seg_of_line.shape[0], device=dev) - first_line[seg_of_line]
    nf = n[seg_of_line].to(points.dtype)
    c = ctrl[seg_of_line]
    start = _bezier(c, k / nf)
    end = _bezier(c, (k + 1) / nf)
    return Lines(start, end, index.segment_subpath.to(dev)[seg_of_line])


def close_for_fill(lines: Lines, closed: torch.Tensor) -> Lines:
    """Add the implicit closing line of every open subpath (fills always close their outlines)."""
    sub = lines.subpath
    if sub.numel() == 0:
        return lines
    is_first = torch.ones_like(sub, dtype=torch.bool)
    is_first[1:] = sub[1:] != sub[:-1]
    is_last = torch.ones_like(sub, dtype=torch.bool)
    is_last[:-1] = sub[1:] != sub[:-1]
    firsts = torch.nonzero(is_first).squeeze(1)
    lasts = torch.nonzero(is_last).squeeze(1)
    open_ = ~closed.to(sub.device)[sub[lasts]]
    a, b = lines.end[lasts[open_]], lines.start[firsts[open_]]
    return Lines(torch.cat([lines.start, a]), torch.cat([lines.end, b]), torch.cat([sub, sub[lasts[open_]]]))
