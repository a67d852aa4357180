"""Dense optical flow between two frames with OpenCV (DIS; Farneback when DIS is unavailable).

A flow ``w`` from frame ``a`` to frame ``b`` is a ``1,2,H,W`` float32 tensor in pixels, channel 0 = x
(right), channel 1 = y (down), such that ``a(p) ≈ b(p + w(p))``. So ``flow(current, previous)`` is what
:func:`core.video.warp.backward_warp` needs to bring the previous frame onto the current one.
"""

import cv2
import numpy as np
import torch

FLOW_METHODS = ("dis", "farneback")


def _gray_uint8(frame: torch.Tensor) -> np.ndarray:
    """``1,3,H,W`` in [0,1] → ``H,W`` uint8 luma (ITU-R BT.601 weights)."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=frame.device).view(1, 3, 1, 1)
    luma = (frame.detach().float() * weights).sum(dim=1)[0]
    return np.ascontiguousarray(luma.clamp(0, 1).mul(255).round().byte().cpu().numpy())


def _dis_available() -> bool:
    return hasattr(cv2, "DISOpticalFlow_create")


def estimate_flow(a: torch.Tensor, b: torch.Tensor, method: str = "dis") -> torch.Tensor:
    """Flow from ``a`` to ``b`` (both ``1,3,H,W`` in [0,1], same size) as ``1,2,H,W`` pixels on ``a``'s device.

    ``method`` is ``"dis"`` (OpenCV DIS, medium preset; falls back to Farneback if this OpenCV lacks it)
    or ``"farneback"``.
    """
    if method not in FLOW_METHODS:
        raise ValueError(f"unknown flow method {method!r}; choose from {FLOW_METHODS}")
    if a.shape != b.shape:
        raise ValueError(f"frames differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    ga, gb = _gray_uint8(a), _gray_uint8(b)
    if method == "dis" and _dis_available():
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flow = dis.calc(ga, gb, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(ga, gb, None, pyr_scale=0.5, levels=4, winsize=15, iterations=3,
                                            poly_n=5, poly_sigma=1.2, flags=0)
    return torch.from_numpy(flow).permute(2, 0, 1).unsqueeze(0).float().to(a.device)


def forward_backward_flow(a: torch.Tensor, b: torch.Tensor, method: str = "dis") -> tuple:
    """``(flow a→b, flow b→a)``, each ``1,2,H,W`` in pixels."""
    return estimate_flow(a, b, method), estimate_flow(b, a, method)
