"""Pure-PyTorch Gaussian splat rasterizer (CPU or GPU), differentiable with respect to every parameter.

Pipeline per camera: EWA projection (:mod:`.projection`) → vectorised tile binning (:mod:`.tiles`) →
front-to-back alpha compositing per tile with gsplat's rules: ``alpha = min(0.999, o * exp(-sigma))``,
intersections with ``alpha < 1/255`` skipped (gsplat's ``sigma < 0`` skip cannot trigger for the positive-definite
conics produced here, up to rounding, so it is not applied), a pixel stops (exclusively) at the Gaussian that
would bring its transmittance to ``<= 1e-4``. Tiles are processed in chunks, and inside a chunk in depth blocks
of 32 Gaussians so that finished tiles stop early; the compositing has a hand-written backward pass that
recomputes each block, so backward memory is bounded by one block too.
"""

from __future__ import annotations

import math

import torch

from stylize3d.sh import eval_sh
from stylize3d.splats.render.projection import ALPHA_THRESHOLD, project_gaussians, quat_scale_to_covar
from stylize3d.splats.render.tiles import TILE, TileBins, bin_gaussians
from stylize3d.splats.scene import GaussianScene

MAX_ALPHA = 0.999
TRANSMITTANCE_STOP = 1e-4
LOG_STOP = math.log(TRANSMITTANCE_STOP)
LOG_TRANS_FLOOR = -30.0  # far below LOG_STOP: only pixels that already stopped are floored
PADDING_COEFFS = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, -1e4])
"""Power coefficients of padding slots: alpha = e^-1e4, below the cut-off everywhere."""
DEPTH_BLOCK = 32
DEFAULT_CHUNK_TILES = 1024


def _pixel_basis(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``P,6`` quadratic basis ``(qx², qy², qx·qy, qx, qy, 1)`` of the TILE² pixel centres of a tile, in coordinates
    relative to the tile centre (so values stay small and the expansion keeps float32 precision)."""
    local = torch.arange(TILE * TILE, device=device)
    qx = (local % TILE).to(dtype) + 0.5 - TILE / 2
    qy = (local // TILE).to(dtype) + 0.5 - TILE / 2
    return torch.stack([qx * qx, qy * qy, qx * qy, qx, qy, torch.ones_like(qx)], dim=-1)


def _power_coefficients(means2d: torch.Tensor, conics: torch.Tensor, opacity: torch.Tensor,
                        tile_ids: torch.Tensor, tiles_x: int) -> torch.Tensor:
    """``T,K,6`` coefficients such that ``coeffs @ basis.T = ln(o) - sigma`` at every pixel of the tile, where
    ``sigma = ½ d^T Σ⁻¹ d``; inputs are gathered per tile: means2d ``T,K,2``, conics ``T,K,3``, opacity ``T,K``."""
    centre = torch.stack([tile_ids % tiles_x, tile_ids // tiles_x], dim=-1).to(means2d.dtype) * TILE + TILE / 2
    m = means2d - centre[:, None, :]
    mx, my = m[..., 0], m[..., 1]
    a, b, c = conics.unbind(-1)
    const = 0.5 * a * mx * mx + b * mx * my + 0.5 * c * my * my
    return torch.stack([-0.5 * a, -0.5 * c, -b, a * mx + b * my, c * my + b * mx, torch.log(opacity) - const], dim=-1)


def _depth_block(coeffs: torch.Tensor, log_in: torch.Tensor, basis_t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Evaluate one depth block of A tiles: coeffs ``A,b,6`` (padding slots have a very negative constant, so
    their alpha falls under the cut-off), log transmittance entering the block ``A,P``.

    Returns alpha ``A,b,P`` (clamped, 0 where skipped), the unclamped ``o·e^-sigma``, transmittance before each
    Gaussian, ``keep`` (the pixel has not stopped), weights ``alpha · T · keep`` and the log transmittance
    leaving the block ``A,P``.
    """
    # clamping the exponent keeps exp() out of slow denormals; exp(-20) is far below the 1/255 cut-off
    raw = torch.exp(torch.clamp_min(coeffs @ basis_t, -20.0))
    used = raw >= ALPHA_THRESHOLD
    alpha = torch.clamp_max(raw, MAX_ALPHA) * used
    log_after = torch.clamp_min(log_in[:, None, :] + torch.cumsum(torch.log1p(-alpha), dim=1), LOG_TRANS_FLOOR)
    trans_after = torch.exp(log_after)
    trans_before = torch.cat([torch.exp(log_in)[:, None, :], trans_after[:, :-1]], dim=1)
    keep = log_after > LOG_STOP
    return alpha, raw, trans_before, keep, alpha * trans_before * keep, log_after[:, -1]


class _CompositeTiles(torch.autograd.Function):
    """Front-to-back compositing of T tiles with a hand-written backward (back to front, as in 3DGS/gsplat).

    Forward: coeffs ``T,K,6`` (see :func:`_power_coefficients`), features ``T,K,F`` (colour, depth and a last
    column of ones, whose weighted sum is the accumulated alpha), counts ``T`` real Gaussians per tile (the rest
    is padding) → ``T,P,F`` weighted feature sums.
    Depth blocks of ``DEPTH_BLOCK`` Gaussians; tiles whose pixels have all stopped are dropped. Backward
    recomputes each block from the saved per-block transmittance, so memory stays that of one block.
    For ``out = Σ_k w_k f_k``, ``w_k = α_k T_k``: ``∂out/∂α_k = T_k f_k − Σ_{j>k} w_j f_j / (1 − α_k)``.
    """

    @staticmethod
    def forward(ctx, coeffs, features, counts):
        basis_t = _pixel_basis(coeffs.dtype, coeffs.device).T
        n_tiles, n_pix = coeffs.shape[0], basis_t.shape[1]
        log_trans = coeffs.new_zeros(n_tiles, n_pix)  # floored at LOG_TRANS_FLOOR (no denormals)
        out = coeffs.new_zeros(n_tiles, n_pix, features.shape[-1])
        blocks = []
        for start in range(0, coeffs.shape[1], DEPTH_BLOCK):
            alive = torch.nonzero((counts > start) & (log_trans.amax(dim=1) > LOG_STOP)).squeeze(1)
            if len(alive) == 0:
                break
            block = slice(start, start + DEPTH_BLOCK)
            log_in = log_trans[alive]
            *_, weights, log_out = _depth_block(coeffs[alive, block], log_in, basis_t)
            out[alive] += torch.einsum("akp,akf->apf", weights, features[alive, block])
            log_trans[alive] = log_out
            blocks.append((start, alive, log_in))
        ctx.save_for_backward(coeffs, features, counts)
        ctx.blocks = blocks
        return out

    @staticmethod
    def backward(ctx, grad_out):
        coeffs, features, counts = ctx.saved_tensors
        basis = _pixel_basis(coeffs.dtype, coeffs.device)
        d_coeffs, d_features = torch.zeros_like(coeffs), torch.zeros_like(features)
        later = coeffs.new_zeros(grad_out.shape[:2])  # Σ over later blocks of w_j g·f_j
        for start, alive, log_in in reversed(ctx.blocks):
            block = slice(start, start + DEPTH_BLOCK)
            alpha, raw, trans_before, keep, weights, _ = _depth_block(coeffs[alive, block], log_in, basis.T)
            g_alive = grad_out[alive]
            per_gaussian = torch.einsum("apf,akf->akp", g_alive, features[alive, block])
            contrib = weights * per_gaussian
            block_sum = contrib.sum(dim=1)
            behind = (block_sum + later[alive])[:, None, :] - torch.cumsum(contrib, dim=1)  # Σ_{j>k} w_j g·f_j
            d_alpha = keep * trans_before * per_gaussian - behind / (1 - alpha)
            d_power = d_alpha * alpha * ((alpha > 0) & (raw < MAX_ALPHA))  # d alpha / d power = alpha where smooth
            d_coeffs[alive, block] += d_power @ basis
            d_features[alive, block] += torch.einsum("akp,apf->akf", weights, g_alive)
            later[alive] += block_sum
        return d_coeffs, d_features, None


def _gather(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[index]`` for any index shape, through ``index_select`` (its backward is a fast ``index_add``;
    advanced indexing's backward accumulates with a slow sort on the CPU when indices repeat)."""
    return values.index_select(0, index.reshape(-1)).reshape(index.shape + values.shape[1:])


def _present(ids: torch.Tensor, n: int) -> torch.Tensor:
    """The distinct values of ``ids`` (in ``0..n-1``), ascending: ``torch.unique`` without its sort."""
    mask = torch.zeros(n, dtype=torch.bool, device=ids.device)
    mask[ids] = True
    return torch.nonzero(mask).squeeze(1)


def rasterize(means2d: torch.Tensor, conics: torch.Tensor, opacity: torch.Tensor, features: torch.Tensor,
              bins: TileBins, width: int, height: int, chunk_tiles: int = DEFAULT_CHUNK_TILES) -> torch.Tensor:
    """Composite one image. Inputs per Gaussian: means2d ``N,2``, conics ``N,3``, opacity ``N`` in (0,1),
    features ``N,F``. Returns ``H,W,F+1`` (weighted features, accumulated alpha), zero where nothing lands.

    Tiles go in chunks of ``chunk_tiles`` (sorted by Gaussian count so that padding stays small); inside a chunk
    the work goes in depth blocks, so memory is bounded by one block in both passes.
    """
    features = torch.cat([features, features.new_ones(features.shape[0], 1)], dim=1)  # the last sum is alpha
    n_feat = features.shape[1]
    counts = bins.counts
    tiles = torch.nonzero(counts > 0).squeeze(1)
    tiles = tiles[torch.argsort(counts[tiles], descending=True, stable=True)]
    chunks, results = torch.split(tiles, chunk_tiles), []
    for chunk in chunks:
        k = int(counts[chunk[0]])
        slot = torch.arange(k, device=chunk.device)
        index = bins.gaussian_ids[torch.clamp(bins.offsets[chunk, None] + slot[None, :], max=len(bins.gaussian_ids) - 1)]
        coeffs = _power_coefficients(_gather(means2d, index), _gather(conics, index), _gather(opacity, index),
                                     chunk, bins.tiles_x)
        padding = slot[None, :] >= counts[chunk, None]
        coeffs = torch.where(padding[..., None], PADDING_COEFFS.to(coeffs), coeffs)
        results.append(_CompositeTiles.apply(coeffs, _gather(features, index), counts[chunk]))
    out = means2d.new_zeros(bins.tiles_x * bins.tiles_y, TILE * TILE, n_feat)
    if results:
        out = out.index_copy(0, tiles, torch.cat(results))
    image = out.reshape(bins.tiles_y, bins.tiles_x, TILE, TILE, n_feat).permute(0, 2, 1, 3, 4)
    return image.reshape(bins.tiles_y * TILE, bins.tiles_x * TILE, n_feat)[:height, :width]


def render_torch(scene: GaussianScene, viewmats: torch.Tensor, Ks: torch.Tensor, width: int, height: int,
                 background: torch.Tensor, sh_degree: int,
                 chunk_tiles: int = DEFAULT_CHUNK_TILES) -> tuple[torch.Tensor, ...]:
    """Render C views. ``viewmats C,4,4`` (OpenCV world-to-camera), ``Ks C,3,3`` for ``width x height``,
    ``background C,3``. Returns rgb ``C,3,H,W`` (colours clamped at 0, not above), alpha ``C,1,H,W`` in [0,1],
    depth ``C,1,H,W`` expected camera z (accumulated z / alpha, 0 where alpha = 0), and the projection's means2d
    ``C,N,2`` (in the graph) and radii ``C,N,2`` (see :class:`stylize3d.splats.render.RenderOutput`)."""
    opacity = torch.sigmoid(scene.opacity_logits)
    covars = quat_scale_to_covar(scene.quats, torch.exp(scene.log_scales))
    proj = project_gaussians(scene.means, covars, viewmats, Ks, width, height, opacities=opacity)
    cam_centers = -(viewmats[:, :3, :3].transpose(1, 2) @ viewmats[:, :3, 3:])[..., 0]
    rgbs, alphas, depths = [], [], []
    for i in range(viewmats.shape[0]):
        bins = bin_gaussians(proj.means2d[i], proj.radii[i], proj.depths[i], width, height,
                             conics=proj.conics[i], opacities=opacity)
        used = _present(bins.gaussian_ids, scene.num_gaussians)
        colour = eval_sh(sh_degree, _gather(scene.means, used) - cam_centers[i], _gather(scene.sh, used))
        colour = torch.clamp_min(colour + 0.5, 0.0)
        remap = torch.zeros(scene.num_gaussians, dtype=torch.long, device=used.device)
        remap[used] = torch.arange(len(used), device=used.device)
        local = TileBins(remap[bins.gaussian_ids], bins.offsets, bins.tiles_x, bins.tiles_y)
        features = torch.cat([colour, _gather(proj.depths[i], used)[:, None]], dim=1)
        image = rasterize(_gather(proj.means2d[i], used), _gather(proj.conics[i], used), _gather(opacity, used),
                          features, local, width, height, chunk_tiles)
        alpha = image[..., 4:5]
        rgbs.append(image[..., :3] + (1 - alpha) * background[i])
        depths.append(torch.where(alpha > 0, image[..., 3:4] / alpha.clamp(min=1e-10), torch.zeros_like(alpha)))
        alphas.append(alpha)
    to_bchw = lambda items: torch.stack(items).permute(0, 3, 1, 2)  # noqa: E731
    return to_bchw(rgbs), to_bchw(alphas), to_bchw(depths), proj.means2d, proj.radii
