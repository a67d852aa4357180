"""View consistency of rendered camera paths, measured with exact correspondences from rendered depth.

Frame ``t+k`` is warped into frame ``t``: each pixel of frame ``t`` is lifted to 3D with frame ``t``'s depth,
projected into camera ``t+k`` and the colour there is sampled bilinearly. Pixels whose point is hidden in
frame ``t+k`` (its depth there disagrees by more than ``depth_tolerance`` relative), falls outside it, or is not
covered (alpha < 0.5) in either frame are masked out. The score is the RMSE over the remaining pixels and
channels, pooled over all pairs ``(t, t+k)``; no optical flow is involved.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from stylize3d.cameras import Cameras


@dataclasses.dataclass
class WarpResult:
    rmse: float
    valid_fraction: float  # share of frame-t pixels that had a visible correspondence
    pairs: int


def _sample(image: torch.Tensor, uv: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Bilinear samples of ``image`` ``1,C,H,W`` at pixel coordinates ``uv`` ``H,W,2`` (pixel centres at +0.5)."""
    grid = torch.stack([uv[..., 0] / width * 2 - 1, uv[..., 1] / height * 2 - 1], dim=-1)[None]
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def warp_into(frame_t: int, frame_s: int, rgb: torch.Tensor, depth: torch.Tensor, alpha: torch.Tensor,
              cameras: Cameras, depth_tolerance: float = 0.03) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame ``frame_s`` warped into frame ``frame_t`` and the validity mask.

    rgb ``B,3,H,W``, depth/alpha ``B,1,H,W`` rendered from ``cameras`` (intrinsics for that W,H).
    Returns ``(warped 3,H,W, mask H,W bool)``.
    """
    _, _, height, width = rgb.shape
    dtype = torch.float64
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype), torch.arange(width, dtype=dtype), indexing="ij")
    pix = torch.stack([xs + 0.5, ys + 0.5, torch.ones_like(xs)], dim=-1)  # H,W,3
    K_t, K_s = cameras.Ks[frame_t].to(dtype), cameras.Ks[frame_s].to(dtype)
    V_t, V_s = cameras.viewmats[frame_t].to(dtype), cameras.viewmats[frame_s].to(dtype)
    z_t = depth[frame_t, 0].to(dtype)
    cam_t = (pix @ torch.linalg.inv(K_t).T) * z_t[..., None]
    world = (cam_t - V_t[:3, 3]) @ V_t[:3, :3]  # R^T (x - t)
    cam_s = world @ V_s[:3, :3].T + V_s[:3, 3]
    z_s = cam_s[..., 2]
    uv = (cam_s @ K_s.T)[..., :2] / z_s.clamp(min=1e-9)[..., None]
    uv32 = uv.to(rgb.dtype)
    warped = _sample(rgb[frame_s:frame_s + 1], uv32, width, height)[0]
    depth_there = _sample(depth[frame_s:frame_s + 1], uv32, width, height)[0, 0].to(dtype)
    alpha_there = _sample(alpha[frame_s:frame_s + 1], uv32, width, height)[0, 0]
    inside = (uv[..., 0] >= 0.5) & (uv[..., 0] <= width - 0.5) & (uv[..., 1] >= 0.5) & (uv[..., 1] <= height - 0.5)
    visible = (z_s > 0) & ((depth_there - z_s).abs() <= depth_tolerance * z_s)
    mask = inside & visible & (alpha[frame_t, 0] > 0.5) & (alpha_there > 0.5)
    return warped, mask


def warp_rmse(rgb: torch.Tensor, depth: torch.Tensor, alpha: torch.Tensor, cameras: Cameras, k: int,
              geometry: tuple[torch.Tensor, torch.Tensor] | None = None) -> WarpResult:
    """Pooled masked RMSE of frames ``t`` vs warped ``t+k`` over a rendered path (``rgb B,3,H,W`` in [0,1]).

    ``geometry`` = ``(depth, alpha)`` to use for the correspondences instead of ``depth``/``alpha`` (so that two
    scenes are compared on the same pixels).
    """
    depth_g, alpha_g = geometry if geometry is not None else (depth, alpha)
    squared, counted, total = 0.0, 0, 0
    pairs = max(0, rgb.shape[0] - k)
    for t in range(pairs):
        warped, mask = warp_into(t, t + k, rgb, depth_g, alpha_g, cameras)
        diff = (rgb[t] - warped)[:, mask]
        squared += float(diff.double().pow(2).sum())
        counted += diff.numel()
        total += mask.numel()
    rmse = (squared / counted) ** 0.5 if counted else float("nan")
    return WarpResult(rmse, (counted / 3) / total if total else 0.0, pairs)
