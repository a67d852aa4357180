"""Differentiable rasterizer for :class:`vector.model.Scene` in plain PyTorch.

Each shape gives up to two layers, its fill then its stroke, composited "over" in document order.
Coverage of a pixel is ``clamp(0.5 - sd, 0, 1)`` where ``sd`` is the signed distance (pixels, negative
inside) to the layer's outline: a one-pixel linear ramp across every edge, so gradients reach control
points, widths and paints through the distance. Inside/outside of fills comes from the winding number
(nonzero or even-odd) of flattened outlines. Work is binned into tiles and evaluated only where a
layer's bounding box (for inside/outside) or an outline's padded box (for distances) reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.errors import InputError
from vector.dash import dash_lines
from vector.coverage import FAR, Grid, soft_min_into_entries, quad_signed_distance, segment_distance_sq, winding_numbers
from vector.flatten import Lines, close_for_fill, device_points, flatten, scene_index, shape_to_device
from vector.model import Gradient, Scene, SolidPaint
from vector.svg_paint import gradient_rgba, gradient_to_device, unit_clamp
from vector.stroke import CAPS, JOINS, Primitives, stroke_primitives

#: Refuse scenes whose per-pixel work exceeds this many (pixel, primitive) evaluations (memory bound).
MAX_PAIR_PIXELS = 12_000_000
MARGIN = 1.0


def render(scene: Scene, width: int, height: int, background=None, samples: int = 1, backend: str = "torch", tile: int = 4,
           tolerance: float = 0.1) -> torch.Tensor:
    """Render ``scene`` to a (1, 4, height, width) float32 image, **premultiplied** RGBA in [0, 1].

    ``background``: None (transparent), a colour (3 floats) or a (1, 3, H, W) image; when given, the result
    is composited onto it and alpha is 1. ``samples``: supersampling factor per axis (1 = analytic
    one-pixel edge ramp only). ``backend``: ``"torch"`` (this module) or ``"diffvg"`` (needs pydiffvg).
    """
    if width < 1 or height < 1:
        raise InputError(f"render size must be positive, got {width} x {height}")
    if backend == "diffvg":
        from vector.diffvg_backend import render_diffvg

        image = render_diffvg(scene, width, height, samples)
    elif backend == "torch":
        if samples > 1:
            image = F.avg_pool2d(_render(scene, width * samples, height * samples, tile, tolerance), samples)
        else:
            image = _render(scene, width, height, tile, tolerance)
    else:
        raise InputError(f"unknown backend {backend!r}; choose torch or diffvg")
    if background is None:
        return image
    bg = background if torch.is_tensor(background) and background.dim() == 4 else torch.as_tensor(background, dtype=image.dtype).reshape(1, 3, 1, 1)
    bg = bg.to(image.device, image.dtype)
    rgb = image[:, :3] + (1 - image[:, 3:]) * bg
    return torch.cat([rgb, torch.ones_like(image[:, 3:])], dim=1)


def _device(scene: Scene) -> torch.device:
    return scene.shapes[0].points.device if scene.shapes else torch.device("cpu")


def _layers(scene: Scene, mats: torch.Tensor):
    """Paint order layers: (shape index, is_stroke) lists, alpha (L,), solid rgb (L, 3)."""
    shape_ids, strokes, alphas, rgbs = [], [], [], []
    dev = _device(scene)
    scale = mats[:, :, :2].det().abs().sqrt() if len(scene.shapes) else None
    for i, s in enumerate(scene.shapes):
        for is_stroke, paint, opacity in ((False, s.fill, s.fill_opacity), (True, s.stroke, s.stroke_opacity)):
            if paint is None or (is_stroke and float(s.stroke_width.detach() * scale[i].detach()) <= 0):
                continue
            shape_ids.append(i)
            strokes.append(is_stroke)
            # ancestors' opacities are applied when their groups are composited (see _composite)
            alphas.append(unit_clamp(opacity) * unit_clamp(s.opacity) * (1.0 if s.groups else s.inherited_opacity))
            rgbs.append(unit_clamp(paint.rgb) if isinstance(paint, SolidPaint) else torch.zeros(3, device=dev))
    if not shape_ids:
        return None
    return (torch.tensor(shape_ids, device=dev), torch.tensor(strokes, device=dev), torch.stack(alphas), torch.stack(rgbs), scale)


@dataclass
class _Geometry:
    """Everything a frame needs, in output pixels: layers, fill edges and stroke primitives tagged by layer."""

    mats: torch.Tensor
    lines: Lines
    sub_shape: torch.Tensor
    layer_shape: torch.Tensor
    layer_stroke: torch.Tensor
    layer_alpha: torch.Tensor
    layer_rgb: torch.Tensor
    edges: Lines
    edge_layer: torch.Tensor
    prims: Primitives


def _geometry(scene: Scene, width: int, height: int, tolerance: float) -> "_Geometry | None":
    dev = _device(scene)
    mats = shape_to_device(scene, width, height)
    layers = _layers(scene, mats)
    if layers is None:
        return None
    layer_shape, layer_stroke, layer_alpha, layer_rgb, scale = layers
    n_layers = layer_shape.shape[0]
    index = scene_index(scene)
    lines = flatten(scene, device_points(scene, mats), tolerance)
    sub_shape = index.subpath_shape.to(dev)
    closed = index.subpath_closed.to(dev)
    fill_layer_of = torch.full((len(scene.shapes),), -1, dtype=torch.long, device=dev)
    stroke_layer_of = torch.full((len(scene.shapes),), -1, dtype=torch.long, device=dev)
    ids = torch.arange(n_layers, device=dev)
    fill_layer_of[layer_shape[~layer_stroke]] = ids[~layer_stroke]
    stroke_layer_of[layer_shape[layer_stroke]] = ids[layer_stroke]
    line_shape = sub_shape[lines.subpath]
    filled = fill_layer_of[line_shape] >= 0
    edges = close_for_fill(Lines(lines.start[filled], lines.end[filled], lines.subpath[filled]), closed)
    stroked = stroke_layer_of[line_shape] >= 0
    s_start, s_end, s_sub, origin = dash_lines(lines.start[stroked], lines.end[stroked], lines.subpath[stroked], closed.shape[0],
                                               _dashes(scene, index, scale))
    s_closed = closed[origin] & (torch.arange(origin.shape[0], device=dev) < closed.shape[0])  # dashes are open
    s_shape = sub_shape[origin[s_sub]]
    widths = torch.stack([s.stroke_width for s in scene.shapes]).clamp_min(0) * scale
    codes = lambda table, attr: torch.tensor([table.get(getattr(s, attr), 0) for s in scene.shapes], device=dev)  # noqa: E731
    prims = stroke_primitives(
        s_start, s_end, s_sub, s_closed, widths[s_shape] / 2,
        codes(JOINS, "line_join")[s_shape], codes(CAPS, "line_cap")[s_shape],
        torch.tensor([s.miter_limit for s in scene.shapes], device=dev)[s_shape], stroke_layer_of[s_shape],
        mats[:, :, 0].detach()[s_shape],
    )
    return _Geometry(mats, lines, sub_shape, layer_shape, layer_stroke, layer_alpha, layer_rgb, edges,
                     fill_layer_of[sub_shape[edges.subpath]], prims)


def _dashes(scene: Scene, index, scale) -> dict:
    """{subpath id: (dash pattern, offset)} in output pixels for the dashed strokes of the scene."""
    out = {}
    for u, shape_id in enumerate(index.subpath_shape.tolist()):
        shape = scene.shapes[shape_id]
        if shape.dash and shape.stroke is not None:
            k = float(scale[shape_id].detach())
            out[u] = (tuple(v * k for v in shape.dash), shape.dash_offset * k)
    return out


def _padded_boxes(g: _Geometry):
    """Detached (lo, hi) boxes of fill edges, capsules and quads, padded by the anti-aliasing margin."""
    e, p = g.edges, g.prims
    radius = p.cap_r.detach()[:, None] + MARGIN
    return (
        (torch.minimum(e.start, e.end).detach() - MARGIN, torch.maximum(e.start, e.end).detach() + MARGIN),
        (torch.minimum(p.cap_a, p.cap_b).detach() - radius, torch.maximum(p.cap_a, p.cap_b).detach() + radius),
        (p.quads.detach().amin(1) - MARGIN, p.quads.detach().amax(1) + MARGIN),
    )


def _render(scene: Scene, width: int, height: int, tile: int, tolerance: float) -> torch.Tensor:
    dev = _device(scene)
    empty = torch.zeros(1, 4, height, width, device=dev)
    g = _geometry(scene, width, height, tolerance) if scene.shapes else None
    if g is None:
        return empty
    n_layers = g.layer_shape.shape[0]
    edge_box, cap_box, quad_box = _padded_boxes(g)
    prim_layer = torch.cat([g.edge_layer, g.prims.cap_layer, g.prims.quad_layer])
    index2 = prim_layer[:, None].expand(-1, 2)
    lay_lo = torch.full((n_layers, 2), float("inf"), device=dev).scatter_reduce(
        0, index2, torch.cat([edge_box[0], cap_box[0], quad_box[0]]), "amin")
    lay_hi = torch.full((n_layers, 2), -float("inf"), device=dev).scatter_reduce(
        0, index2, torch.cat([edge_box[1], cap_box[1], quad_box[1]]), "amax")

    # Entries: (layer, tile) for every tile of each layer's box; primitives pair with the tiles they touch.
    grid = Grid(width, height, tile)
    x0, y0, x1, y1, _valid = grid.tile_ranges(lay_lo, lay_hi)
    layer_box = torch.stack([x0, y0, x1, y1], dim=1)
    entry_layer, entry_tile = grid.pairs(lay_lo, lay_hi)
    n_entries = entry_layer.shape[0]
    if n_entries == 0:
        return empty
    entry_key = entry_layer * grid.count + entry_tile
    P = tile * tile
    offsets = grid.offsets(dev)

    def pair_up(box, layer):
        prim, tiles = grid.pairs(*box)
        entry = torch.searchsorted(entry_key, layer[prim] * grid.count + tiles)
        return prim, entry, grid.origin(tiles)[:, None, :] + offsets[None]

    e_prim, e_entry, e_pix = pair_up(edge_box, g.edge_layer)
    c_prim, c_entry, c_pix = pair_up(cap_box, g.prims.cap_layer)
    q_prim, q_entry, q_pix = pair_up(quad_box, g.prims.quad_layer)
    budget = (n_entries + e_prim.shape[0] + c_prim.shape[0] + 4 * q_prim.shape[0]) * P
    if budget > MAX_PAIR_PIXELS:
        raise InputError(
            f"scene too complex to rasterize at {width}x{height} within the memory bound "
            f"({budget / 1e6:.0f}M pixel-primitive pairs > {MAX_PAIR_PIXELS / 1e6:.0f}M); use a smaller size or fewer paths"
        )

    # Inside/outside of fills from winding numbers at pixel centres (no gradient).
    is_stroke_entry = g.layer_stroke[entry_layer]
    fill_entries = torch.nonzero(~is_stroke_entry).squeeze(1)
    wind = torch.zeros(n_entries, P, dtype=torch.int32, device=dev)
    evenodd = torch.tensor([s.fill_rule == "evenodd" for s in scene.shapes], device=dev)[g.layer_shape[entry_layer]]
    if fill_entries.numel():
        wind[fill_entries] = winding_numbers(g.edges.start, g.edges.end, g.edge_layer, entry_layer[fill_entries],
                                             entry_tile[fill_entries], layer_box, grid)
    inside = torch.where(evenodd[:, None], wind % 2 != 0, wind != 0)

    # Fills: distance to the nearest edge that separates inside from outside at that pixel (under nonzero an
    # edge between windings 1 and 2 is interior). Strokes: signed distance to the union of their primitives.
    fill_d = soft_min_into_entries(_boundary_distance(g.edges, e_prim, e_entry, e_pix, wind, evenodd), e_entry, n_entries, FAR)
    cap_sd = (segment_distance_sq(c_pix, g.prims.cap_a[c_prim][:, None], g.prims.cap_b[c_prim][:, None]) + 1e-12).sqrt()
    cap_sd = cap_sd - g.prims.cap_r[c_prim][:, None]
    quad_sd = quad_signed_distance(q_pix, g.prims.quads[q_prim])
    stroke_sd = soft_min_into_entries(torch.cat([cap_sd, quad_sd]), torch.cat([c_entry, q_entry]), n_entries, FAR)

    signed = torch.where(is_stroke_entry[:, None], stroke_sd, torch.where(inside, -fill_d, fill_d))
    coverage = _clip(scene, g, (0.5 - signed).clamp(0.0, 1.0), entry_layer, entry_tile, grid, width, height)
    alpha = coverage * g.layer_alpha[entry_layer][:, None]
    rgb = g.layer_rgb[entry_layer][:, None, :].expand(n_entries, P, 3)
    rgb, alpha = _gradient_paint(scene, g, entry_layer, entry_tile, grid, rgb, alpha)
    return _composite(scene, g, rgb * alpha[..., None], alpha, entry_layer, entry_tile, grid)


def _boundary_distance(edges: Lines, prim, entry, pix, wind, evenodd) -> torch.Tensor:
    """Distance (N, P) from pixels to fill edges, or FAR where the edge does not bound the fill there.

    Crossing an edge changes the winding number by one: the side where ``edge × (p − a) < 0`` has the higher
    winding. The edge is a boundary at a pixel when either side's winding is 0 (always under even-odd).
    """
    a, b = edges.start[prim][:, None], edges.end[prim][:, None]
    d2 = segment_distance_sq(pix, a, b)
    w_here = wind[entry]
    e_vec = (b - a).detach()
    rel = pix.detach() - a.detach()
    higher_side = (e_vec[..., 0] * rel[..., 1] - e_vec[..., 1] * rel[..., 0]) < 0
    w_other = torch.where(higher_side, w_here - 1, w_here + 1)
    boundary = evenodd[entry][:, None] | (w_here == 0) | (w_other == 0)
    return torch.where(boundary, (d2 + 1e-12).sqrt(), torch.full_like(d2, FAR))


def _clip(scene, g: _Geometry, alpha, entry_layer, entry_tile, grid, width: int, height: int):
    """Limit the coverage (N, P) of clipped shapes' entries to that of their clip quads (``Shape.clip``: the
    overflow-clipping nested viewports), with the same one-pixel edge ramp as outlines. The minimum, not the
    product: an outline that lies on the clip edge (a background filling its viewport) keeps half coverage."""
    owners: dict = {}
    for i, s in enumerate(scene.shapes):
        if s.clip is not None:
            owners.setdefault(id(s.clip), (s.clip, []))[1].append(i)
    if not owners:
        return alpha
    dev = alpha.device
    scale = torch.tensor([width / scene.width, height / scene.height], dtype=torch.float32, device=dev)
    entry_shape = g.layer_shape[entry_layer]
    offsets = grid.offsets(dev)
    for quads, ids in owners.values():
        sel = torch.nonzero(torch.isin(entry_shape, torch.tensor(ids, device=dev))).squeeze(1)
        if sel.numel() == 0:
            continue
        pix = grid.origin(entry_tile[sel])[:, None, :] + offsets[None]
        cover = torch.ones_like(alpha[sel])
        for quad in quads.to(dev) * scale:
            sd = quad_signed_distance(pix, quad[None].expand(sel.shape[0], 4, 2))
            cover = torch.minimum(cover, (0.5 - sd).clamp(0.0, 1.0))
        alpha = alpha.index_copy(0, sel, torch.minimum(alpha[sel], cover))
    return alpha


def _gradient_paint(scene, g: _Geometry, entry_layer, entry_tile, grid, rgb, alpha):
    """Replace the colour of gradient-painted layers' entries by the gradient at each pixel centre."""
    line_shape = g.sub_shape[g.lines.subpath]
    layer_shape, layer_stroke = g.layer_shape, g.layer_stroke
    offsets = grid.offsets(alpha.device)
    for layer in range(layer_shape.shape[0]):
        shape = scene.shapes[int(layer_shape[layer])]
        paint = shape.stroke if bool(layer_stroke[layer]) else shape.fill
        if not isinstance(paint, Gradient):
            continue
        sel = torch.nonzero(entry_layer == layer).squeeze(1)
        if sel.numel() == 0:
            continue
        m = g.mats[int(layer_shape[layer])]
        own = line_shape == int(layer_shape[layer])
        pts = torch.cat([g.lines.start[own], g.lines.end[own]])
        inv_lin = torch.linalg.inv(m[:, :2])
        user = (pts - m[:, 2]) @ inv_lin.T
        bbox = torch.cat([user.amin(0), user.amax(0)])
        pix = (grid.origin(entry_tile[sel])[:, None, :] + offsets[None]).reshape(-1, 2)
        rgba = gradient_rgba(paint, pix, gradient_to_device(paint, m, bbox)).reshape(sel.shape[0], -1, 4)
        rgb = rgb.index_copy(0, sel, unit_clamp(rgba[..., :3]))
        alpha = alpha.index_copy(0, sel, alpha[sel] * unit_clamp(rgba[..., 3]))
    return rgb, alpha


def _over(segment, order, premult, alpha):
    """Composite entries "over" in ``order`` within each ``segment``.

    ``premult`` (N, P, 3), ``alpha`` (N, P) -> (segments (S,), premult (S, P, 3), alpha (S, P)).
    """
    dev = alpha.device
    P = alpha.shape[1]
    idx = torch.argsort(segment * (int(order.max()) + 1) + order)
    used, counts = torch.unique_consecutive(segment[idx], return_counts=True)
    seg = torch.repeat_interleave(torch.arange(used.shape[0], device=dev), counts)
    rank = torch.arange(idx.shape[0], device=dev) - (torch.cumsum(counts, 0) - counts)[seg]
    depth = int(counts.max())
    a = torch.zeros(used.shape[0], depth, P, device=dev).index_put((seg, rank), alpha[idx])
    c = torch.zeros(used.shape[0], depth, P, 3, device=dev).index_put((seg, rank), premult[idx])
    clear = (1 - a).flip(1).cumprod(1)
    behind = torch.cat([torch.ones_like(clear[:, :1]), clear[:, :-1]], dim=1).flip(1)
    return used, (c * behind[..., None]).sum(1), 1 - clear[:, -1]


def _composite(scene, g: _Geometry, premult, alpha, entry_layer, entry_tile, grid: Grid) -> torch.Tensor:
    """Composite all entries into a (1, 4, H, W) premultiplied image.

    Groups with ``opacity < 1`` are resolved from the innermost out: per tile their content is composited,
    scaled by the group's opacity, and the result takes the place of the group's first layer one level up.
    """
    dev = alpha.device
    P = alpha.shape[1]
    depth_max = max((len(s.groups) for s in scene.shapes), default=0)
    group_ids = sorted({gid for s in scene.shapes for gid, _ in s.groups})
    compact = {gid: i for i, gid in enumerate(group_ids)}
    opacity_of = torch.ones(max(1, len(group_ids)), device=dev)
    paths = torch.full((len(scene.shapes), max(1, depth_max)), -1, dtype=torch.long)
    for i, s in enumerate(scene.shapes):
        for d, (gid, value) in enumerate(s.groups):
            paths[i, d] = compact[gid]
            opacity_of[compact[gid]] = value
    paths = paths.to(dev)
    n_groups = max(1, len(group_ids))
    tile, order, rep = entry_tile, entry_layer, g.layer_shape[entry_layer]
    depth = paths[rep].ge(0).sum(1)
    for level in range(depth_max, 0, -1):
        sel = depth == level
        if not bool(sel.any()):
            continue
        gid = paths[rep[sel], level - 1]
        seg = tile[sel] * n_groups + gid
        used, c, a = _over(seg, order[sel], premult[sel], alpha[sel])
        slot = torch.searchsorted(used, seg)
        first = torch.full((used.shape[0],), 1 << 30, dtype=torch.long, device=dev).scatter_reduce(0, slot, order[sel], "amin")
        members_rep = torch.zeros(used.shape[0], dtype=torch.long, device=dev).index_copy(0, slot, rep[sel])
        o = opacity_of[used % n_groups]
        keep = ~sel
        tile = torch.cat([tile[keep], used // n_groups])
        order = torch.cat([order[keep], first])
        rep = torch.cat([rep[keep], members_rep])
        depth = torch.cat([depth[keep], torch.full_like(first, level - 1)])
        premult = torch.cat([premult[keep], c * o[:, None, None]])
        alpha = torch.cat([alpha[keep], a * o[:, None]])
    used, rgb, a = _over(tile, order, premult, alpha)
    out = torch.cat([rgb, a[..., None]], dim=-1)  # T', P, 4
    canvas = torch.zeros(grid.count, P, 4, device=dev).index_copy(0, used, out)
    ts = grid.tile
    image = canvas.reshape(grid.rows, grid.cols, ts, ts, 4).permute(4, 0, 2, 1, 3).reshape(4, grid.rows * ts, grid.cols * ts)
    return image[None, :, : grid.height, : grid.width]
