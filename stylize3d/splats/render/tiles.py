"""Vectorised tile binning: which Gaussians touch which TILE x TILE tile, front to back (no Python loops)."""

from __future__ import annotations

import dataclasses

import torch

TILE = 8
"""Tile side in pixels. 8 (not 16 as in gsplat) measured about 2x faster here: less wasted work for small splats;
the image does not depend on it, because a pixel outside a Gaussian's box has alpha below 1/255 anyway."""


@dataclasses.dataclass
class TileBins:
    """Gaussian-tile intersections of one image, grouped by tile and sorted by depth inside each tile.

    gaussian_ids ``M`` int64: Gaussian index of each intersection; offsets ``T+1`` int64: the intersections of
    tile ``t`` are ``gaussian_ids[offsets[t]:offsets[t+1]]``; tiles_x, tiles_y: the tile grid (row-major ids).
    """

    gaussian_ids: torch.Tensor
    offsets: torch.Tensor
    tiles_x: int
    tiles_y: int

    @property
    def counts(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]


@torch.no_grad()
def bin_gaussians(means2d: torch.Tensor, radii: torch.Tensor, depths: torch.Tensor,
                  width: int, height: int, tile: int = TILE) -> TileBins:
    """Bin ``N`` projected Gaussians (``means2d N,2``, ``radii N,2`` int with 0 = culled, ``depths N``) into
    tiles. A Gaussian covers tiles ``floor((m - r)/tile) .. ceil((m + r)/tile) - 1`` clamped to the grid."""
    tiles_x, tiles_y = -(-width // tile), -(-height // tile)
    dev = means2d.device
    visible = torch.nonzero((radii > 0).all(dim=-1)).squeeze(1)
    visible = visible[torch.argsort(depths[visible], stable=True)]  # front to back
    m, r = means2d[visible].detach().to(torch.float64), radii[visible].to(torch.float64)
    lo_x = torch.clamp(torch.floor((m[:, 0] - r[:, 0]) / tile), 0, tiles_x).long()
    hi_x = torch.clamp(torch.ceil((m[:, 0] + r[:, 0]) / tile), 0, tiles_x).long()
    lo_y = torch.clamp(torch.floor((m[:, 1] - r[:, 1]) / tile), 0, tiles_y).long()
    hi_y = torch.clamp(torch.ceil((m[:, 1] + r[:, 1]) / tile), 0, tiles_y).long()
    span_x = hi_x - lo_x
    counts = span_x * (hi_y - lo_y)
    owner = torch.repeat_interleave(torch.arange(len(visible), device=dev), counts)
    first = torch.cumsum(counts, 0) - counts
    local = torch.arange(int(counts.sum()), device=dev) - first[owner]
    tile_ids = (lo_y[owner] + local // span_x[owner]) * tiles_x + lo_x[owner] + local % span_x[owner]
    order = torch.argsort(tile_ids, stable=True)  # stable: keeps depth order inside a tile
    per_tile = torch.bincount(tile_ids, minlength=tiles_x * tiles_y)
    offsets = torch.cat([per_tile.new_zeros(1), torch.cumsum(per_tile, 0)])
    return TileBins(visible[owner[order]], offsets, tiles_x, tiles_y)
