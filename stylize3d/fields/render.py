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
from typing import Optional

import torch

from stylize3d.cameras import Cameras
from stylize3d.fields.grid import RadianceField, world_per_grid
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


def sample_rays(field: RadianceField, rays: Rays, step: float, generator: Optional[torch.Generator] = None):
    """Sample positions along ``rays``: ``(t, delta, valid)``, each ``R,S``: camera-z parameter, world length of
    each sample's interval, and whether the sample lies on the ray's segment inside the field."""
    norm = rays.dirs.norm(dim=-1)
    t_near, t_far = _box_hits(rays, field.box_min, field.box_max)
    dt = step / norm
    length = (t_far - t_near).clamp_min(0)
    count = int((length / dt).ceil().max()) if len(rays) else 0
    offset = (torch.rand(len(rays), generator=generator, device="cpu").to(norm.device) if generator is not None
              else torch.full_like(norm, 0.5))
    k = torch.arange(max(count, 1), device=norm.device, dtype=norm.dtype)
    t = t_near[:, None] + (k[None] + offset[:, None]) * dt[:, None]
    valid = t < t_far[:, None]
    delta = torch.full_like(t, step)
    if not field.contracted:
        return t, delta, valid
    # outside the inner box: uniform in disparity from the exit point to FAR_FACTOR box radii
    radius = float(((field.box_max - field.box_min) / 2).max())
    start = torch.maximum(t_far, t_near)
    far = torch.maximum(start * 1.01, (FAR_FACTOR * radius) / norm)
    s = (torch.arange(OUTER_SAMPLES, device=norm.device, dtype=norm.dtype) + 0.5) / OUTER_SAMPLES
    t_out = 1.0 / (1.0 / start[:, None] * (1 - s[None]) + 1.0 / far[:, None] * s[None])
    edges = torch.cat([start[:, None], (t_out[:, 1:] + t_out[:, :-1]) / 2, far[:, None]], dim=1)
    delta_out = (edges[:, 1:] - edges[:, :-1]) * norm[:, None]
    return (torch.cat([t, t_out], 1), torch.cat([delta, delta_out], 1),
            torch.cat([valid, torch.ones_like(t_out, dtype=torch.bool)], 1))


def render_rays(field: RadianceField, rays: Rays, background: torch.Tensor, step: Optional[float] = None,
                generator: Optional[torch.Generator] = None, weight_threshold: float = WEIGHT_THRESHOLD,
                transmittance_threshold: float = TRANSMITTANCE_THRESHOLD, return_sigma: bool = False) -> dict:
    """Volume-render ``rays`` → ``{"rgb": R,3, "alpha": R, "depth": R}`` (+ ``"sigma"``: the densities at the
    occupied samples, for a sparsity regulariser). ``background``: ``3`` or ``R,3``. ``step``: sample spacing in
    world units (default half a voxel). Samples are shaded when their weight exceeds ``weight_threshold`` and
    the transmittance before them ``transmittance_threshold`` (fitting uses weight 0 so that faint density still
    gets gradients). Differentiable w.r.t. the field's grids and ``background``."""
    step = STEP_RATIO * field.voxel_size * world_per_grid(field) if step is None else step
    with torch.no_grad():  # sample positions do not depend on the field's parameters
        t, delta, valid = sample_rays(field, rays, step, generator)
        samples = t.shape[1]
        pts_all = rays.origins[:, None] + rays.dirs[:, None] * t[..., None]
        keep = valid & field.occupied(pts_all.view(-1, 3)).view(t.shape)
        flat = keep.view(-1).nonzero()[:, 0]  # sorted by ray, then by depth
        r_idx = flat // samples
        pts = pts_all.view(-1, 3).index_select(0, flat)
        t_s, delta_s = t.view(-1).index_select(0, flat), delta.view(-1).index_select(0, flat)
    sigma = field.sigma(pts)
    tau = sigma * delta_s
    weights, trans = (tau.new_empty(0), tau.new_empty(0)) if tau.numel() == 0 else _weights(tau, r_idx, len(rays))
    shade = ((weights.detach() > weight_threshold) & (trans.detach() > transmittance_threshold)).nonzero()[:, 0]
    r_idx, pts, t_s, w = r_idx[shade], pts.index_select(0, shade), t_s[shade], weights.index_select(0, shade)
    colour = field.rgb(pts, rays.dirs.index_select(0, r_idx))
    n = len(rays)
    rgb = torch.zeros(n, 3, dtype=colour.dtype, device=colour.device).index_add(0, r_idx, w[:, None] * colour)
    alpha = torch.zeros(n, dtype=w.dtype, device=w.device).index_add(0, r_idx, w)
    depth = torch.zeros(n, dtype=w.dtype, device=w.device).index_add(0, r_idx, w * t_s)
    bg = background.to(rgb).expand(n, 3)
    out = {"rgb": rgb + (1 - alpha)[:, None] * bg, "alpha": alpha,
           "depth": torch.where(alpha > 1e-6, depth / alpha.clamp_min(1e-6), torch.zeros_like(depth))}
    if return_sigma:
        out["sigma"] = sigma
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
