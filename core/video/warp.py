"""Differentiable backward warping with ``grid_sample``.

``backward_warp(image, flow)(p) = image(p + flow(p))`` with bilinear interpolation; gradients flow to both
``image`` and ``flow``. Pixel centres sit at integer coordinates (``align_corners=True``).
"""

import torch
import torch.nn.functional as F


def _sample_grid(flow: torch.Tensor) -> torch.Tensor:
    """``B,2,H,W`` pixel flow → ``B,H,W,2`` normalised sampling grid in [-1,1] for ``grid_sample``."""
    _, _, h, w = flow.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=flow.dtype),
                            torch.arange(w, device=flow.device, dtype=flow.dtype), indexing="ij")
    x = xs + flow[:, 0]
    y = ys + flow[:, 1]
    gx = 2.0 * x / max(w - 1, 1) - 1.0
    gy = 2.0 * y / max(h - 1, 1) - 1.0
    return torch.stack((gx, gy), dim=-1)


WARP_MODES = ("bilinear", "bicubic", "nearest")


def backward_warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Sample ``image`` (``B,C,H,W``) at ``p + flow(p)`` (``flow``: ``B,2,H,W`` pixels); borders are replicated.

    ``mode``: ``bilinear`` (default; differentiable in image and flow), ``bicubic`` or ``nearest``. Repeated
    sub-pixel bilinear warps blur; ``nearest`` keeps texture statistics when an image is warped again and
    again (each frame's result feeding the next), at the price of pixel-level jitter.
    """
    if flow.shape[0] != image.shape[0] or flow.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"flow {tuple(flow.shape)} does not match image {tuple(image.shape)}")
    if mode not in WARP_MODES:
        raise ValueError(f"unknown warp mode {mode!r}; choose from {WARP_MODES}")
    return F.grid_sample(image, _sample_grid(flow.to(image.dtype)), mode=mode, padding_mode="border",
                         align_corners=True)


def inside_frame(flow: torch.Tensor) -> torch.Tensor:
    """``B,1,H,W`` mask, 1 where ``p + flow(p)`` lands inside the frame (else the warp only replicates borders)."""
    grid = _sample_grid(flow)
    inside = (grid.abs() <= 1.0).all(dim=-1)
    return inside.unsqueeze(1).to(flow.dtype)


def sample_at(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear samples ``(N, C)`` of ``image`` (``1,C,H,W``) at ``xy`` (``N,2``) positions in its index frame
    (pixel ``(i, j)`` at ``(x, y) = (j, i)``, as :func:`backward_warp`); borders are replicated. Use it to move
    points (stroke control points, tracks) along a flow: ``xy + sample_at(flow, xy)``."""
    _, _, h, w = image.shape
    g = torch.stack([2.0 * xy[:, 0] / max(w - 1, 1) - 1.0, 2.0 * xy[:, 1] / max(h - 1, 1) - 1.0], dim=-1)
    out = F.grid_sample(image, g.to(image.dtype).view(1, 1, -1, 2), mode="bilinear", padding_mode="border",
                        align_corners=True)
    return out[0, :, 0].t()
