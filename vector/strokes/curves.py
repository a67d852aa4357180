"""Brush strokes as smooth curves: a uniform Catmull-Rom spline through each stroke's control points, converted
to cubic Bézier segments (what the SVG stores) and sampled into polylines (what the rasterizer draws).

Strokes are batched: ``points`` ``(S, P, 2)`` in pixels (x right, y down, pixel centres at +0.5), padded after
each stroke's ``count`` (S,) valid points by repeating its last point.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


STROKE_FIELDS = ("points", "count", "radius", "colour", "opacity", "layer")


@dataclass
class Strokes:
    """A painting's strokes in painting order.

    ``points`` (S, P, 2) float control points in pixels, padded as above; ``count`` (S,) int64 >= 1;
    ``radius`` (S,) brush radius R in pixels (SVG ``stroke-width`` = 2R); ``colour`` (S, 3) RGB in [0, 1];
    ``opacity`` (S,) in (0, 1]; ``layer`` (S,) int64 index of the brush (layer) each stroke belongs to.
    """

    points: torch.Tensor
    count: torch.Tensor
    radius: torch.Tensor
    colour: torch.Tensor
    opacity: torch.Tensor
    layer: torch.Tensor

    def __len__(self) -> int:
        return self.points.shape[0]

    @staticmethod
    def cat(parts: "list[Strokes]") -> "Strokes":
        """Concatenate in order, padding every part to the longest stroke."""
        width = max((p.points.shape[1] for p in parts), default=1)
        padded = [pad_points(p.points, p.count, width) for p in parts]
        if not parts:
            z = torch.zeros(0)
            return Strokes(torch.zeros(0, 1, 2), torch.zeros(0, dtype=torch.long), z, torch.zeros(0, 3), z,
                           torch.zeros(0, dtype=torch.long))
        return Strokes(torch.cat(padded), *(torch.cat([getattr(p, n) for p in parts])
                                            for n in ("count", "radius", "colour", "opacity", "layer")))

    def select(self, index) -> "Strokes":
        """The strokes at ``index`` (a slice, mask or index tensor), in that order."""
        return Strokes(self.points[index], self.count[index], self.radius[index], self.colour[index],
                       self.opacity[index], self.layer[index])

    def detach(self) -> "Strokes":
        return Strokes(*(getattr(self, n).detach().clone() for n in STROKE_FIELDS))


def pad_points(points: torch.Tensor, count: torch.Tensor, width: int) -> torch.Tensor:
    """Pad/refill ``points`` (S, P, 2) to (S, width, 2), repeating each stroke's last valid point."""
    index = torch.arange(width, device=points.device).clamp(max=points.shape[1] - 1)
    index = torch.minimum(index[None, :], (count - 1)[:, None])  # (S, width)
    return torch.gather(points, 1, index[..., None].expand(-1, -1, 2))


def bezier_controls(points: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Cubic Bézier segments of the uniform Catmull-Rom spline through the control points.

    Returns (S, P-1, 4, 2): segment i runs from point i to point i+1 with inner controls
    ``p_i + (p_{i+1} - p_{i-1}) / 6`` and ``p_{i+1} - (p_{i+2} - p_i) / 6`` (end points repeated at the ends).
    Segments at or past ``count - 1`` are degenerate (all four controls equal the last point).
    """
    s, p, _ = points.shape
    if p < 2:
        return points.new_zeros(s, 0, 4, 2)
    i = torch.arange(p - 1, device=points.device)
    last = (count - 1)[:, None]

    def at(k):
        k = torch.minimum(k.clamp(min=0)[None, :].expand(s, -1), last)
        return torch.gather(points, 1, k[..., None].expand(-1, -1, 2))

    p0, p1, p2, p3 = at(i - 1), at(i), at(i + 1), at(i + 2)
    return torch.stack([p1, p1 + (p2 - p0) / 6, p2 - (p3 - p1) / 6, p2], dim=2)


def sample_curves(points: torch.Tensor, count: torch.Tensor, per_segment: int = 4) -> tuple:
    """Sample each stroke's spline into a polyline: ``per_segment`` pieces per Bézier segment.

    Returns ``(samples (S, (P-1)*per_segment + 1, 2), sample_count (S,))``; padded like ``points``.
    Differentiable w.r.t. ``points``.
    """
    s = points.shape[0]
    controls = bezier_controls(points, count)  # (S, P-1, 4, 2)
    if controls.shape[1] == 0:
        return points[:, :1], torch.ones_like(count)
    t = torch.arange(per_segment, device=points.device, dtype=points.dtype) / per_segment
    u = 1 - t
    basis = torch.stack([u ** 3, 3 * u * u * t, 3 * u * t * t, t ** 3], dim=-1)  # (m, 4)
    pts = torch.einsum("mk,sjkd->sjmd", basis, controls).reshape(s, -1, 2)
    samples = torch.cat([pts, points[:, -1:]], dim=1)
    sample_count = (count - 1) * per_segment + 1
    return pad_points(samples, sample_count, samples.shape[1]), sample_count
