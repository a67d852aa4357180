"""Tile binning, distances and winding numbers: the per-pixel work of the rasterizer, vectorised.

The canvas is cut into ``tile × tile`` pixel tiles. A layer (one shape's fill or stroke) owns an *entry*
for every tile of its bounding box; each primitive (fill edge, stroke capsule or quad) is paired with the
tiles its own padded box touches, so distances are evaluated only near outlines. Pixel values of a tile
are laid out as ``P = tile²`` row-major samples at pixel centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

FAR = 1.0e4
#: Softness (pixels) of the minima over primitives and edges: see :func:`soft_min_into_entries`.
SHARPNESS = 0.05


@dataclass
class Grid:
    """Tiling of a ``width × height`` canvas. ``offsets`` (P, 2): pixel centres inside a tile."""

    width: int
    height: int
    tile: int

    def __post_init__(self):
        self.cols = -(-self.width // self.tile)
        self.rows = -(-self.height // self.tile)
        self.count = self.cols * self.rows

    def offsets(self, device) -> torch.Tensor:
        r = torch.arange(self.tile, device=device, dtype=torch.float32) + 0.5
        yy, xx = torch.meshgrid(r, r, indexing="ij")
        return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)

    def origin(self, tiles: torch.Tensor) -> torch.Tensor:
        """Top-left pixel (T, 2) of tiles (T,)."""
        return torch.stack([tiles % self.cols, tiles // self.cols], dim=-1).float() * self.tile

    def tile_ranges(self, lo: torch.Tensor, hi: torch.Tensor):
        """Inclusive tile ranges (x0, y0, x1, y1) of boxes ``lo``/``hi`` (N, 2) and a validity mask."""
        valid = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < self.width) & (lo[:, 1] < self.height)
        valid &= torch.isfinite(lo).all(-1) & torch.isfinite(hi).all(-1)
        lo = torch.nan_to_num(lo.detach(), 0.0, 0.0, 0.0)
        hi = torch.nan_to_num(hi.detach(), 0.0, 0.0, 0.0)
        x0 = torch.floor(lo[:, 0] / self.tile).clamp(0, self.cols - 1).long()
        y0 = torch.floor(lo[:, 1] / self.tile).clamp(0, self.rows - 1).long()
        x1 = torch.floor(hi[:, 0] / self.tile).clamp(0, self.cols - 1).long()
        y1 = torch.floor(hi[:, 1] / self.tile).clamp(0, self.rows - 1).long()
        return x0, y0, x1, y1, valid

    def pairs(self, lo: torch.Tensor, hi: torch.Tensor):
        """Every (box index, tile id) with the tile inside the box; box-major, tiles row-major."""
        x0, y0, x1, y1, valid = self.tile_ranges(lo, hi)
        w = x1 - x0 + 1
        counts = torch.where(valid, w * (y1 - y0 + 1), torch.zeros_like(w))
        box = torch.repeat_interleave(torch.arange(lo.shape[0], device=lo.device), counts)
        local = torch.arange(box.shape[0], device=lo.device) - (torch.cumsum(counts, 0) - counts)[box]
        tiles = (y0[box] + local // w[box]) * self.cols + x0[box] + local % w[box]
        return box, tiles


def segment_distance_sq(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distance from points ``p`` (N, P, 2) to segments ``a``-``b`` (N, 1, 2) -> (N, P)."""
    ab = b - a
    ap = p - a
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)).clamp(0.0, 1.0)
    diff = ap - ab * t[..., None]
    return (diff * diff).sum(-1)


def quad_signed_distance(p: torch.Tensor, quad: torch.Tensor) -> torch.Tensor:
    """Signed distance (negative inside) from ``p`` (N, P, 2) to convex quads ``quad`` (N, 4, 2)."""
    nxt = quad.roll(-1, dims=1)
    dist = (torch.stack([segment_distance_sq(p, quad[:, k : k + 1], nxt[:, k : k + 1]) for k in range(4)]) + 1e-12).sqrt()
    dist = -SHARPNESS * torch.logsumexp(-dist / SHARPNESS, dim=0)  # smooth minimum over the four edges
    edge = (nxt - quad)[:, None]  # N, 1, 4, 2
    rel = p[:, :, None, :] - quad[:, None]
    cross = edge[..., 0] * rel[..., 1] - edge[..., 1] * rel[..., 0]  # N, P, 4
    inside = (cross >= 0).all(-1) | (cross <= 0).all(-1)
    return torch.where(inside, -dist, dist)


def soft_min_into_entries(values: torch.Tensor, entry: torch.Tensor, count: int, fill_value: float, sharpness: float = SHARPNESS) -> torch.Tensor:
    """Per-entry smooth minimum: ``values`` (N, P) grouped by ``entry`` (N,) -> (count, P).

    ``-k log Σ exp(-v / k)`` with ``k = sharpness`` pixels, stabilised by the exact minimum: at most
    ``k log n`` below the true minimum of ``n`` near-equal values, and differentiable where the nearest
    primitive changes (a hard minimum puts a kink there). Entries without values get ``fill_value``.
    """
    out = torch.full((count, values.shape[1]), fill_value, dtype=values.dtype, device=values.device)
    if values.shape[0] == 0:
        return out
    index = entry[:, None].expand_as(values)
    low = out.scatter_reduce(0, index, values.detach(), reduce="amin", include_self=True)
    weights = torch.exp(-(values - low[entry]) / sharpness)
    total = torch.zeros_like(out).scatter_add(0, index, weights)
    return torch.where(total > 0, low - sharpness * torch.log(total.clamp_min(1e-30)), out)


def winding_numbers(start, end, layer, entry_layer, entry_tile, layer_box, grid: Grid) -> torch.Tensor:
    """Winding number (K, P) int at the pixel centres of fill entries (no gradient).

    ``start``/``end`` (E, 2): closed outline edges of the layers ``layer`` (E,); entries (K,) given by
    ``entry_layer``/``entry_tile``; ``layer_box`` (L, 4) tile ranges x0, y0, x1, y1 of each layer.
    Every crossing of a pixel row's centre line adds ±1 at the first pixel right of it in a per-layer
    buffer; a row-wise prefix sum then counts the signed crossings left of each pixel centre.
    """
    ts, dev = grid.tile, start.device
    x0p, y0p = layer_box[:, 0] * ts, layer_box[:, 1] * ts
    cols = (layer_box[:, 2] - layer_box[:, 0] + 1) * ts
    rows = (layer_box[:, 3] - layer_box[:, 1] + 1) * ts
    size = cols * rows
    offset = torch.cumsum(size, 0) - size
    buffer = torch.zeros(int(size.sum()) + 1, dtype=torch.int32, device=dev)
    a, b = start.detach(), end.detach()
    ylo, yhi = torch.minimum(a[:, 1], b[:, 1]), torch.maximum(a[:, 1], b[:, 1])
    r_lo = torch.maximum(torch.ceil(ylo - 0.5).long(), y0p[layer])
    r_hi = torch.minimum(torch.ceil(yhi - 0.5).long(), y0p[layer] + rows[layer])
    counts = (r_hi - r_lo).clamp_min(0)
    edge = torch.repeat_interleave(torch.arange(a.shape[0], device=dev), counts)
    row = r_lo[edge] + torch.arange(edge.shape[0], device=dev) - (torch.cumsum(counts, 0) - counts)[edge]
    ea, eb = a[edge], b[edge]
    xc = ea[:, 0] + (row.float() + 0.5 - ea[:, 1]) * (eb[:, 0] - ea[:, 0]) / (eb[:, 1] - ea[:, 1])
    lay = layer[edge]
    col = (torch.floor(xc - 0.5).long() + 1 - x0p[lay]).clamp_min(0)
    ok = col < cols[lay]
    direction = torch.where(eb[:, 1] > ea[:, 1], 1, -1).to(torch.int32)
    where = offset[lay] + (row - y0p[lay]) * cols[lay] + col
    buffer.index_add_(0, where[ok], direction[ok])
    prefix = torch.cat([torch.zeros(1, dtype=torch.int64, device=dev), torch.cumsum(buffer[:-1].long(), 0)])
    offs = grid.offsets(dev).long()  # P, 2 (x + 0.5 floored = column in tile)
    lay = entry_layer
    ty = entry_tile // grid.cols - layer_box[lay, 1]
    tx = entry_tile % grid.cols - layer_box[lay, 0]
    row_in_layer = ty[:, None] * ts + offs[None, :, 1]
    row_start = offset[lay][:, None] + row_in_layer * cols[lay][:, None]
    pix = row_start + tx[:, None] * ts + offs[None, :, 0]
    return (prefix[pix + 1] - prefix[row_start]).to(torch.int32)
