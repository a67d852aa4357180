"""Volume rendering of a :class:`~stylize3d.fields.grid.RadianceField` from our pinhole cameras.

Per ray ``o + t·d`` (``d`` scaled so that ``t`` is the camera z of the point): samples every ``step`` world units
inside the field's box (one random offset per ray when a generator is given: stratified sampling), samples in
unoccupied voxels skipped, then ``C = Σ_i T_i α_i c_i + (1 − Σ_i T_i α_i) · background`` with
``α_i = 1 − exp(−σ_i δ_i)`` and ``T_i = Π_{j<i} (1 − α_j)``. Samples whose weight ``T_i α_i`` is below
``weight_threshold`` or behind a transmittance below ``transmittance_threshold`` (early stop) are not shaded. Expected depth ``Σ w_i t_i / Σ w_i`` (camera z, 0 where nothing is hit) and opacity ``Σ w_i`` come too.

Contracted fields sample the inner box uniformly and the outside uniformly in disparity up to ``FAR_FACTOR``
box radii.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch.utils.weak import WeakIdKeyDictionary

from stylize3d.cameras import Cameras
from stylize3d.fields.grid import GridLookup, RadianceField, world_per_grid
from stylize3d.splats.render import RenderOutput

STEP_RATIO = 0.5
"""Default sample spacing in voxels."""
WEIGHT_THRESHOLD = 1e-4
TRANSMITTANCE_THRESHOLD = 1e-4
CHUNK_RAYS = 4096
"""Rays rendered at once by :func:`render`: bounds memory at any image size."""
NEAR = 0.05
OUTER_SAMPLES = 64
FAR_FACTOR = 1000.0
GROUP = 4
"""Samples tested together against the dilated occupancy before they are tested one by one."""


@dataclasses.dataclass
class Rays:
    """``N`` rays: ``origins`` ``N,3`` and ``dirs`` ``N,3`` (world; camera-frame z component 1)."""

    origins: torch.Tensor
    dirs: torch.Tensor

    def __len__(self) -> int:
        return self.origins.shape[0]

    def __getitem__(self, index) -> "Rays":
        return Rays(self.origins[index], self.dirs[index])


def camera_rays(cameras: Cameras, width: int, height: int, device=None) -> Rays:
    """The rays through the pixel centres of every camera at ``width x height``: ``B·H·W`` rays, camera-major,
    then row-major (the order of ``images.permute(0, 2, 3, 1).reshape(-1, 3)``)."""
    cams = cameras.scaled_to(width, height)
    device = device or cams.viewmats.device
    v, u = torch.meshgrid(torch.arange(height, dtype=torch.float32, device=device) + 0.5,
                          torch.arange(width, dtype=torch.float32, device=device) + 0.5, indexing="ij")
    pix = torch.stack([u, v, torch.ones_like(u)], dim=-1).reshape(-1, 3)  # HW,3
    Ks, viewmats = cams.Ks.to(device), cams.viewmats.to(device)
    cam_dirs = pix[None] @ torch.linalg.inv(Ks).transpose(1, 2)  # B,HW,3 with z = 1
    rot = viewmats[:, :3, :3]  # world -> camera
    dirs = cam_dirs @ rot  # (R^T d) as rows
    origins = cams.centers().to(device)[:, None].expand_as(dirs)
    return Rays(origins.reshape(-1, 3).contiguous(), dirs.reshape(-1, 3).contiguous())


def _box_hits(rays: Rays, lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Entry and exit ``t`` of each ray in the box (``t_far <= t_near`` for a miss); entry clamped at NEAR."""
    inv = 1.0 / torch.where(rays.dirs.abs() < 1e-9, torch.full_like(rays.dirs, 1e-9), rays.dirs)
    a, b = (lo - rays.origins) * inv, (hi - rays.origins) * inv
    t_near = torch.minimum(a, b).amax(dim=-1).clamp_min(NEAR)
    t_far = torch.maximum(a, b).amin(dim=-1)
    return t_near, t_far


def _grid_offsets(field: RadianceField) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lo 3, voxel 3)``: world position of grid point 0 and the world size of one voxel along x, y, z, valid
    inside the box (where a contracted field's map is linear)."""
    cells = torch.tensor(field.resolution[::-1], device=field.device, dtype=field.box_min.dtype) - 1
    extent = field.box_max - field.box_min
    if field.contracted:  # the box is the middle half [-1, 1] of the grid's [-2, 2]
        return field.box_min - extent / 2, 2 * extent / cells
    return field.box_min, extent / cells


def _nearest_voxel_clamped(field: RadianceField, pts: torch.Tensor) -> torch.Tensor:
    """``N``: linear index of the grid point nearest to world points ``N,3`` (outside the grid: the nearest
    border point), with the box's linear world-to-grid map (a contracted field's map inside the box)."""
    lo, voxel = _grid_offsets(field)
    d, h, w = field.resolution
    idx = ((pts - lo) / voxel).round_().long()
    idx = torch.minimum(idx.clamp_min_(0), torch.tensor([w - 1, h - 1, d - 1], device=idx.device))
    return (idx[:, 2] * h + idx[:, 1]) * w + idx[:, 0]


_DILATED = WeakIdKeyDictionary()


def dilated_occupancy(occupancy: torch.Tensor, radius: int) -> torch.Tensor:
    """``D,H,W`` bool: voxels with an occupied voxel within ``radius`` voxels along every axis (a cube). Cached per
    occupancy tensor until it changes in place."""
    key = (occupancy._version, radius)
    cached = _DILATED.get(occupancy)
    if cached is not None and cached[0] == key:
        return cached[1]
    grid = occupancy[None, None].to(torch.float16 if occupancy.is_cuda else torch.float32)
    k = 2 * radius + 1
    for kernel in ((k, 1, 1), (1, k, 1), (1, 1, k)):  # separable cube max-pool
        grid = F.max_pool3d(grid, kernel, stride=1, padding=tuple(n // 2 for n in kernel))
    dilated = grid[0, 0] > 0
    _DILATED[occupancy] = (key, dilated)
    return dilated


def packed_samples(field: RadianceField, rays: Rays, step: float, generator: Optional[torch.Generator] = None):
    """The samples of ``rays`` that lie in occupied voxels, packed: ``(ray, t, delta)``, each ``M``, sorted by ray
    and then depth: ray index, camera-z parameter and world length of the sample's interval.

    Inside the box, ray ``r`` is sampled at ``t = t_near + (k + u_r)·step/|d_r|`` (``u_r`` one random offset per
    ray with a generator, else 0.5), ``k = 0, 1, …`` while ``t < t_far``. The samples go ``GROUP`` at a time: a
    group is expanded only when the occupancy grid dilated by the group's reach is occupied at its middle, so
    empty space costs one lookup per group; the result equals testing every sample (see the tests). Contracted
    fields add ``OUTER_SAMPLES`` per ray outside the box, uniform in disparity up to ``FAR_FACTOR`` box radii.
    """
    norm = rays.dirs.norm(dim=-1)
    t_near, t_far = _box_hits(rays, field.box_min, field.box_max)
    dt = step / norm
    count = int(((t_far - t_near).clamp_min(0) / dt).ceil().max()) if len(rays) else 0
    offset = (torch.rand(len(rays), generator=generator, device="cpu").to(norm.device) if generator is not None
              else torch.full_like(norm, 0.5))
    groups = max(1, -(-count // GROUP))
    # coarse pass: the middle of each group of GROUP samples against the dilated occupancy
    _, voxel = _grid_offsets(field)
    reach = (GROUP - 1) / 2 * step / float(voxel.min())  # voxels from a group's middle to its ends, per axis
    dilated = dilated_occupancy(field.occupancy, math.ceil(reach + 0.5))
    first = torch.arange(groups, device=norm.device, dtype=norm.dtype) * GROUP
    t_first = t_near[:, None] + (first[None] + offset[:, None]) * dt[:, None]  # R,G: the group's first sample
    mid = t_first + (GROUP - 1) / 2 * dt[:, None]
    lin = _nearest_voxel_clamped(field, (rays.origins[:, None] + rays.dirs[:, None] * mid[..., None]).view(-1, 3))
    candidate = (t_first < t_far[:, None]) & dilated.reshape(-1).take(lin).view(t_first.shape)
    ray, group = candidate.nonzero().unbind(1)
    # fine pass: every sample of the candidate groups against the occupancy itself
    k = group[:, None] * GROUP + torch.arange(GROUP, device=norm.device)
    ray = ray[:, None].expand_as(k).reshape(-1)
    t = t_near[ray] + (k.reshape(-1).to(norm.dtype) + offset[ray]) * dt[ray]
    keep = ((t < t_far[ray]) & field.occupied(rays.origins[ray] + rays.dirs[ray] * t[:, None])).nonzero()[:, 0]
    ray, t = ray[keep], t[keep]
    delta = torch.full_like(t, step)
    if not field.contracted:
        return ray, t, delta
    # outside the inner box: uniform in disparity from the exit point to FAR_FACTOR box radii
    radius = float(((field.box_max - field.box_min) / 2).max())
    start = torch.maximum(t_far, t_near)
    far = torch.maximum(start * 1.01, (FAR_FACTOR * radius) / norm)
    s = (torch.arange(OUTER_SAMPLES, device=norm.device, dtype=norm.dtype) + 0.5) / OUTER_SAMPLES
    t_out = 1.0 / (1.0 / start[:, None] * (1 - s[None]) + 1.0 / far[:, None] * s[None])
    edges = torch.cat([start[:, None], (t_out[:, 1:] + t_out[:, :-1]) / 2, far[:, None]], dim=1)
    delta_out = (edges[:, 1:] - edges[:, :-1]) * norm[:, None]
    pts_out = rays.origins[:, None] + rays.dirs[:, None] * t_out[..., None]
    keep_out = field.occupied(pts_out.view(-1, 3)).view(t_out.shape).nonzero()
    ray_out = keep_out[:, 0]
    ray_all = torch.cat([ray, ray_out])
    order = torch.sort(ray_all, stable=True).indices  # each ray's inner samples stay before its outer ones
    return (ray_all[order], torch.cat([t, t_out[keep_out[:, 0], keep_out[:, 1]]])[order],
            torch.cat([delta, delta_out[keep_out[:, 0], keep_out[:, 1]]])[order])


@dataclasses.dataclass
class WeightedSamples:
    """The shaded samples of ``rays`` (``rays`` rays), packed by ray: ``ray`` ``M`` (long), ``pts`` ``M,3`` world
    positions, ``t`` ``M`` camera-z parameters, ``weights`` ``M`` compositing weights ``T_i α_i``; ``sigma``: the
    densities of every occupied sample in front of the transmittance threshold (also the unshaded ones);
    ``lookup``: the shaded samples' :class:`~stylize3d.fields.grid.GridLookup` when asked for (the colour lookup
    then reuses it)."""

    rays: int
    ray: torch.Tensor
    pts: torch.Tensor
    t: torch.Tensor
    weights: torch.Tensor
    sigma: torch.Tensor
    lookup: Optional[GridLookup] = None

    def detach(self) -> "WeightedSamples":
        return dataclasses.replace(self, weights=self.weights.detach(), sigma=self.sigma.detach())

    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in (self.ray, self.pts, self.t, self.weights))


def weighted_samples(field: RadianceField, rays: Rays, step: Optional[float] = None,
                     generator: Optional[torch.Generator] = None, weight_threshold: float = WEIGHT_THRESHOLD,
                     transmittance_threshold: float = TRANSMITTANCE_THRESHOLD,
                     keep_lookup: bool = False) -> WeightedSamples:
    """The density half of :func:`render_rays`: samples, densities and compositing weights (differentiable in the
    density grid); the samples kept are those :func:`render_rays` shades.

    With autograd on, early ray termination: a first pass without autograd finds each ray's samples behind
    transmittance ``transmittance_threshold`` and drops them before the density is looked up again with
    autograd, so they cost no backward (they are never shaded either way: the colours are the same as without
    the first pass, and their density gets no gradient). ``keep_lookup``: keep the shaded samples' grid lookup
    (:attr:`WeightedSamples.lookup`)."""
    step = STEP_RATIO * field.voxel_size * world_per_grid(field) if step is None else step
    terminate = torch.is_grad_enabled() and transmittance_threshold > 0
    with torch.no_grad():  # sample positions do not depend on the field's parameters
        r_idx, t_s, delta_s = packed_samples(field, rays, step, generator)
        pts = rays.origins.index_select(0, r_idx) + rays.dirs.index_select(0, r_idx) * t_s[:, None]
        at = field.lookup(pts)
        if terminate and t_s.numel():
            _, trans = _weights(field.sigma(at) * delta_s, r_idx, len(rays))
            front = (trans > transmittance_threshold).nonzero()[:, 0]
            r_idx, t_s, delta_s, pts, at = r_idx[front], t_s[front], delta_s[front], pts[front], at[front]
    sigma = field.sigma(at)
    tau = sigma * delta_s
    weights, trans = (tau.new_empty(0), tau.new_empty(0)) if tau.numel() == 0 else _weights(tau, r_idx, len(rays))
    shade = ((weights.detach() > weight_threshold) & (trans.detach() > transmittance_threshold)).nonzero()[:, 0]
    return WeightedSamples(len(rays), r_idx[shade], pts.index_select(0, shade), t_s[shade],
                           weights.index_select(0, shade), sigma, at[shade] if keep_lookup else None)


def composite(field: RadianceField, rays: Rays, samples: WeightedSamples, background: torch.Tensor) -> dict:
    """The colour half of :func:`render_rays`: ``{"rgb": R,3, "alpha": R, "depth": R}`` of ``samples`` (of
    ``rays``) with the field's colour grid (differentiable in it, ``background`` and the weights)."""
    r_idx, w = samples.ray, samples.weights
    colour = field.rgb(samples.pts if samples.lookup is None else samples.lookup, rays.dirs.index_select(0, r_idx))
    n = samples.rays
    rgb = torch.zeros(n, 3, dtype=colour.dtype, device=colour.device).index_add(0, r_idx, w[:, None] * colour)
    alpha = torch.zeros(n, dtype=w.dtype, device=w.device).index_add(0, r_idx, w)
    depth = torch.zeros(n, dtype=w.dtype, device=w.device).index_add(0, r_idx, w * samples.t)
    bg = background.to(rgb).expand(n, 3)
    return {"rgb": rgb + (1 - alpha)[:, None] * bg, "alpha": alpha,
            "depth": torch.where(alpha > 1e-6, depth / alpha.clamp_min(1e-6), torch.zeros_like(depth))}


def render_rays(field: RadianceField, rays: Rays, background: torch.Tensor, step: Optional[float] = None,
                generator: Optional[torch.Generator] = None, weight_threshold: float = WEIGHT_THRESHOLD,
                transmittance_threshold: float = TRANSMITTANCE_THRESHOLD, return_sigma: bool = False) -> dict:
    """Volume-render ``rays`` → ``{"rgb": R,3, "alpha": R, "depth": R}`` (+ ``"sigma"``: the densities at the
    occupied samples in front of the transmittance threshold, for a sparsity regulariser). ``background``: ``3``
    or ``R,3``. ``step``: sample spacing in world units (default half a voxel). Samples are shaded when their
    weight exceeds ``weight_threshold`` and the transmittance before them ``transmittance_threshold`` (early
    ray termination; fitting uses weight 0 so that faint density still gets gradients). Differentiable w.r.t.
    the field's grids and ``background``."""
    samples = weighted_samples(field, rays, step, generator, weight_threshold, transmittance_threshold,
                               keep_lookup=True)
    out = composite(field, rays, samples, background)
    if return_sigma:
        out["sigma"] = samples.sigma
    return out


def _weights(tau: torch.Tensor, ray: torch.Tensor, rays: int) -> torch.Tensor:
    """``(T_i α_i, T_i)`` for packed samples (``tau = σδ`` ``M``, sorted by ray ``ray`` ``M`` and depth): the
    transmittance is a per-ray exclusive prefix sum, taken in float64 so long batches keep their precision."""
    cum = torch.cumsum(tau.double(), dim=0)
    counts = torch.bincount(ray, minlength=rays)
    starts = torch.cumsum(counts, dim=0) - counts
    before_all = cum - tau.double()
    trans = torch.exp(-(before_all - before_all[starts[ray]]).to(tau.dtype))
    return trans * (1 - torch.exp(-tau)), trans


def render_field(field: RadianceField, cameras: Cameras, width: int, height: int,
                 background: "torch.Tensor | tuple[float, float, float]" = (1.0, 1.0, 1.0),
                 chunk: int = CHUNK_RAYS, step: Optional[float] = None) -> RenderOutput:
    """Render ``field`` from every camera at ``width x height`` (intrinsics rescaled): rgb ``B,3,H,W``, alpha and
    depth ``B,1,H,W``. Rays go ``chunk`` at a time, so without autograd the memory is bounded by one chunk plus
    the output images. ``background``: a colour (3) in [0,1] or one per camera (``B,3``)."""
    device = field.device
    bg = torch.as_tensor(background, dtype=torch.float32, device=device).expand(len(cameras), 3)
    rgbs, alphas, depths = [], [], []
    for i in range(len(cameras)):
        rays = camera_rays(cameras[i], width, height, device)
        parts = [render_rays(field, rays[j:j + chunk], bg[i], step) for j in range(0, len(rays), chunk)]
        rgbs.append(torch.cat([p["rgb"] for p in parts]).T.reshape(3, height, width))
        alphas.append(torch.cat([p["alpha"] for p in parts]).reshape(1, height, width))
        depths.append(torch.cat([p["depth"] for p in parts]).reshape(1, height, width))
    return RenderOutput(torch.stack(rgbs), torch.stack(alphas), torch.stack(depths))
