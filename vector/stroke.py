"""Stroke outlines as a union of simple convex primitives with exact signed distances.

A stroke of half-width ``h`` along flattened subpaths becomes:
- bodies: a capsule (segment ⊕ disk of radius h) per line for round joins (in open subpaths with butt/square
  caps: rectangles, with disks at their sharp joins), otherwise a rectangle;
- joins: round (disk, or the capsules themselves), bevel (the rectangle spanned by both end normals, whose
  outer edge is the bevel), miter (kite up to the miter tip, or bevel past ``stroke-miterlimit``);
- caps on open subpaths: round (disk), square (end bodies lengthened by h), butt (none); zero-length
  subpaths get a dot (disk) or a square for round or square caps.
The stroke's signed distance is the minimum over its primitives (exact outside, a lower bound inside),
which gives the anti-aliased coverage and lets gradients reach points and widths.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

JOINS = {"miter": 0, "miter-clip": 0, "arcs": 0, "round": 1, "bevel": 2}
CAPS = {"butt": 0, "round": 1, "square": 2}


@dataclass
class Primitives:
    """``cap_a``, ``cap_b`` (C, 2) segment ends and ``cap_r`` (C,) radius of capsules; ``quads`` (Q, 4, 2)
    convex quadrilaterals; ``cap_layer`` (C,), ``quad_layer`` (Q,) the layer each belongs to."""

    cap_a: torch.Tensor
    cap_b: torch.Tensor
    cap_r: torch.Tensor
    cap_layer: torch.Tensor
    quads: torch.Tensor
    quad_layer: torch.Tensor


def _perp(d: torch.Tensor) -> torch.Tensor:
    return torch.stack([-d[:, 1], d[:, 0]], dim=-1)


def stroke_primitives(start, end, subpath, closed, half, join, cap, limit, layer, x_axis=None) -> Primitives:
    """Primitives of strokes along lines ``start``/``end`` (L, 2) in subpath order.

    ``subpath`` (L,) ids; ``closed`` (U,) per subpath; per line: ``half`` width (L,) in pixels (tensor with
    gradient), ``join``/``cap`` codes (L,) from :data:`JOINS`/:data:`CAPS`, ``limit`` (L,) miter limits,
    ``layer`` (L,) layer ids and ``x_axis`` (L, 2) the device direction of the user-space x axis (square caps of
    zero-length subpaths follow it; None: the device x axis).
    """
    vec = end - start
    length = vec.detach().norm(dim=-1)
    if x_axis is None:
        x_axis = torch.tensor([1.0, 0.0], device=start.device).expand_as(start)
    dots = _zero_length_caps(start, subpath, length, half, cap, layer, x_axis)
    keep = length > 1e-6
    start, end, vec, subpath = start[keep], end[keep], vec[keep], subpath[keep]
    half, join, cap, limit, layer = half[keep], join[keep], cap[keep], limit[keep], layer[keep]
    d = vec / vec.norm(dim=-1, keepdim=True)
    n = _perp(d)
    h = half[:, None]
    count = subpath.shape[0]
    is_first = torch.ones(count, dtype=torch.bool, device=start.device)
    is_first[1:] = subpath[1:] != subpath[:-1]
    is_last = torch.ones(count, dtype=torch.bool, device=start.device)
    is_last[:-1] = subpath[1:] != subpath[:-1]
    open_ = ~closed.to(start.device)[subpath]
    round_join = join == JOINS["round"]
    # Round joins use capsule bodies, except in open subpaths with butt or square caps: there a capsule next to
    # a short end body (a dash's last piece of a flattened curve) would bulge past the flat end, so the bodies
    # are rectangles, with the seam filler at near-straight joins and a disk at sharper ones.
    flat_round = round_join & open_ & (cap != CAPS["round"])
    capsule_body = round_join & ~flat_round

    caps_a, caps_b, caps_r, caps_l = [start[capsule_body]], [end[capsule_body]], [half[capsule_body]], [layer[capsule_body]]
    rect = ~capsule_body
    # Square caps extend the end bodies by h (one rectangle, no seam between body and cap).
    square = (open_ & (cap == CAPS["square"]))[:, None]
    a = torch.where(square & is_first[:, None], start - d * h, start)
    b = torch.where(square & is_last[:, None], end + d * h, end)
    quads = [torch.stack([a + n * h, b + n * h, b - n * h, a - n * h], dim=1)[rect]]
    quad_l = [layer[rect]]


    # Joins between consecutive lines, and between last and first line of closed subpaths.
    idx = torch.arange(count, device=start.device)
    nxt = torch.where(is_last, idx, idx + 1)
    first_of = torch.zeros(int(subpath.max()) + 1 if count else 0, dtype=torch.long, device=start.device)
    first_of[subpath[is_first]] = idx[is_first]
    nxt = torch.where(is_last & ~open_, first_of[subpath], nxt)
    has_join = (nxt != idx) & (~round_join | flat_round)
    i, j = idx[has_join], nxt[has_join]
    v, hh = end[i], h[i]
    n1, n2 = n[i], n[j]
    cos = (d[i] * d[j]).sum(-1).clamp(-1, 1)
    side = -torch.sign((d[j] * n1).sum(-1, keepdim=True))
    side = torch.where(side == 0, torch.ones_like(side), side)
    bevel = torch.stack([v + n1 * hh, v + n2 * hh, v - n1 * hh, v - n2 * hh], dim=1)
    ratio = 1.0 / torch.sqrt(((1 + cos) / 2).clamp_min(1e-12))
    use_miter = (join[i] == JOINS["miter"]) & (ratio <= limit[i])
    tip = v + side * (n1 + n2) * hh / (1 + cos).clamp_min(1e-6)[:, None]
    kite = torch.stack([v, v + side * n1 * hh, tip, v + side * n2 * hh], dim=1)
    # The bevel rectangle also covers the seam between the two bodies; near-straight joins (flattened
    # curves) get a short rectangle across the seam instead, as their bevel is almost flat.
    t = d[i] + d[j]
    t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    nt = _perp(t)
    seg_len = vec.norm(dim=-1)
    reach = torch.minimum(seg_len[i], seg_len[j]).clamp(max=2.0)[:, None] / 2
    filler = torch.stack([v - t * reach + nt * hh, v + t * reach + nt * hh, v + t * reach - nt * hh, v - t * reach - nt * hh], dim=1)
    smooth = cos > 0.9
    # near-straight joins take no kite: its miter reaches < 3% of h past the filler, and a (nearly) collinear
    # kite degenerates to a line whose inside test holds along the whole normal through the join
    kite_sel = use_miter & ~smooth
    disk = ~smooth & flat_round[i]
    quads += [bevel[~smooth & ~disk], kite[kite_sel], filler[smooth]]
    quad_l += [layer[i][~smooth & ~disk], layer[i][kite_sel], layer[i][smooth]]
    caps_a.append(v[disk]), caps_b.append(v[disk]), caps_r.append(half[i][disk]), caps_l.append(layer[i][disk])

    # Caps of open subpaths.
    for sel, point in ((open_ & is_first, start), (open_ & is_last, end)):
        round_cap = sel & (cap == CAPS["round"]) & ~round_join
        caps_a.append(point[round_cap]), caps_b.append(point[round_cap]), caps_r.append(half[round_cap])
        caps_l.append(layer[round_cap])
    caps_a.append(dots[0]), caps_b.append(dots[0]), caps_r.append(dots[1]), caps_l.append(dots[2])
    quads.append(dots[3]), quad_l.append(dots[4])
    return Primitives(
        torch.cat(caps_a), torch.cat(caps_b), torch.cat(caps_r), torch.cat(caps_l), torch.cat(quads), torch.cat(quad_l)
    )


def _zero_length_caps(start, subpath, length, half, cap, layer, x_axis) -> tuple:
    """Caps of zero-length subpaths (``M x y Z``, ``M x y L x y``; SVG 2 §13.5.6): a disk for round caps, a
    square aligned with the user-space x axis ``x_axis`` (L, 2) for square caps (exact under rotations and
    uniform scales; under skew the user-space square would be a parallelogram), nothing for butt caps.

    Returns (disk centres (D, 2), radii (D,), disk layers (D,), squares (S, 4, 2), square layers (S,)).
    """
    count = subpath.shape[0]
    if count == 0:
        return start[:0], half[:0], layer[:0], start.new_zeros(0, 4, 2), layer[:0]
    total = torch.zeros(int(subpath.max()) + 1, dtype=length.dtype, device=start.device).index_add_(0, subpath, length)
    first = torch.ones(count, dtype=torch.bool, device=start.device)
    first[1:] = subpath[1:] != subpath[:-1]
    dot = first & (total[subpath] <= 1e-6)
    disk = dot & (cap == CAPS["round"])
    square = dot & (cap == CAPS["square"])
    c, h = start[square], half[square][:, None]
    u = x_axis[square] / x_axis[square].norm(dim=-1, keepdim=True).clamp_min(1e-12)
    u, v = u * h, _perp(u) * h
    corners = torch.stack([c - u - v, c + u - v, c + u + v, c - u + v], dim=1)
    return start[disk], half[disk], layer[disk], corners, layer[square]
