"""Vectorised tile binning: which Gaussians touch which TILE x TILE tile, front to back (no Python loops)."""

from __future__ import annotations

import dataclasses

import torch

from stylize3d.splats.render.projection import ALPHA_THRESHOLD

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


CULL_MARGIN = 1e-3
"""Slack (in ``ln alpha``) of the per-tile cull, so float rounding never drops a pixel that would pass 1/255."""


def _tile_min_power(m: torch.Tensor, conics: torch.Tensor, tile_xy: torch.Tensor, tile: int, width: int,
                    height: int) -> torch.Tensor:
    """Smallest Mahalanobis half-power ``½ dᵀ Σ⁻¹ d`` of each Gaussian over the rectangle spanned by its tile's
    pixel centres: ``m M,2`` means, ``conics M,3`` (a, b, c), ``tile_xy M,2`` tile column/row; returns ``M``.

    0 when the mean is inside; otherwise the minimum lies on one of the four edges, where the quadratic in the
    free coordinate has its minimum at ``-b·d/c`` (or ``-b·d/a``), clamped to the edge."""
    lo = tile_xy * tile + 0.5
    hi = torch.minimum(lo + (tile - 1), m.new_tensor([width - 0.5, height - 0.5]))
    a, b, c = conics.unbind(-1)
    dlo, dhi = lo - m, hi - m  # M,2 offsets of the rectangle's sides from the mean
    inside = ((dlo <= 0) & (dhi >= 0)).all(-1)
    best = torch.full_like(a, float("inf"))
    for fixed, free, q_fixed, q_free in ((0, 1, a, c), (1, 0, c, a)):
        lo_free, hi_free = dlo[:, free], dhi[:, free]
        for d in (dlo[:, fixed], dhi[:, fixed]):  # the two edges where this coordinate is fixed
            t = torch.clamp(-b * d / q_free, lo_free, hi_free)
            best = torch.minimum(best, q_fixed * d * d + 2 * b * d * t + q_free * t * t)
    return torch.where(inside, torch.zeros_like(best), 0.5 * best)


@torch.no_grad()
def bin_gaussians(means2d: torch.Tensor, radii: torch.Tensor, depths: torch.Tensor,
                  width: int, height: int, tile: int = TILE, conics: "torch.Tensor | None" = None,
                  opacities: "torch.Tensor | None" = None) -> TileBins:
    """Bin ``N`` projected Gaussians (``means2d N,2``, ``radii N,2`` int with 0 = culled, ``depths N``) into
    tiles. A Gaussian covers tiles ``floor((m - r)/tile) .. ceil((m + r)/tile) - 1`` clamped to the grid.

    With ``conics N,3`` and ``opacities N`` (activated), tiles of that box where the Gaussian's alpha
    ``o·exp(-½ dᵀΣ⁻¹d)`` stays under 1/255 at every pixel centre are dropped (exact test on the tile's rectangle,
    so the image does not change; thin or tilted splats touch far fewer tiles than their box)."""
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
    tile_y, tile_x = lo_y[owner] + local // span_x[owner], lo_x[owner] + local % span_x[owner]
    if conics is not None and opacities is not None:
        ids = visible[owner]
        power = _tile_min_power(m[owner], conics[ids].detach().to(torch.float64),
                                torch.stack([tile_x, tile_y], -1).to(torch.float64), tile, width, height)
        limit = torch.log(opacities[ids].detach().to(torch.float64) / ALPHA_THRESHOLD) + CULL_MARGIN
        hit = power <= limit
        owner, tile_x, tile_y = owner[hit], tile_x[hit], tile_y[hit]
    tile_ids = tile_y * tiles_x + tile_x
    order = torch.argsort(tile_ids, stable=True)  # stable: keeps depth order inside a tile
    per_tile = torch.bincount(tile_ids, minlength=tiles_x * tiles_y)
    offsets = torch.cat([per_tile.new_zeros(1), torch.cumsum(per_tile, 0)])
    return TileBins(visible[owner[order]], offsets, tiles_x, tiles_y)
