"""Where a warped frame can be trusted: Ruder et al.'s occlusion and motion-boundary masks.

With ``w`` the flow current→previous (the one used to warp) and ``ŵ`` the flow previous→current sampled at
``p + w(p)``, a pixel is *occluded* (disoccluded) when ``|w + ŵ|² > 0.01(|w|² + |ŵ|²) + 0.5``, and lies on a
*motion boundary* when ``|∇w|² > 0.01|w|² + 0.002``. Masks are ``1,1,H,W`` float32 in {0,1}; weights ``c`` are
in [0,1] (1 = trust the warped previous frame).
"""

import torch
import torch.nn.functional as F

from core.video.warp import backward_warp, inside_frame


def occlusion_mask(flow_back: torch.Tensor, flow_forth: torch.Tensor) -> torch.Tensor:
    """1 where the forward–backward check fails (``flow_back``: current→previous, ``flow_forth``: previous→current)."""
    forth_at_target = backward_warp(flow_forth, flow_back)
    mismatch = (flow_back + forth_at_target).square().sum(dim=1, keepdim=True)
    magnitude = flow_back.square().sum(dim=1, keepdim=True) + forth_at_target.square().sum(dim=1, keepdim=True)
    return (mismatch > 0.01 * magnitude + 0.5).float()


def motion_boundary_mask(flow: torch.Tensor) -> torch.Tensor:
    """1 where ``|∇flow|² > 0.01|flow|² + 0.002`` (forward differences, last row/column replicated)."""
    padded = F.pad(flow, (0, 1, 0, 1), mode="replicate")
    dx = padded[..., :-1, 1:] - padded[..., :-1, :-1]
    dy = padded[..., 1:, :-1] - padded[..., :-1, :-1]
    gradient = (dx.square() + dy.square()).sum(dim=1, keepdim=True)
    return (gradient > 0.01 * flow.square().sum(dim=1, keepdim=True) + 0.002).float()


def consistency_weights(flow_back: torch.Tensor, flow_forth: torch.Tensor, boundary_weight: float = 0.0) -> torch.Tensor:
    """Per-pixel trust ``c`` (``1,1,H,W`` in [0,1]) in the previous frame warped by ``flow_back``.

    0 where occluded or warped from outside the frame, ``boundary_weight`` on motion boundaries (Ruder et al.
    use 0), 1 elsewhere.
    """
    visible = (1.0 - occlusion_mask(flow_back, flow_forth)) * inside_frame(flow_back)
    boundary = motion_boundary_mask(flow_back)
    return visible * (1.0 - boundary * (1.0 - boundary_weight))


def long_term_weights(weights: list) -> list:
    """Ruder et al.'s long-term weights for neighbours ordered nearest first:
    ``c_long[j] = max(c[j] − Σ_{l<j} c[l], 0)``, so a pixel is constrained only by its nearest visible neighbour.
    """
    result, covered = [], None
    for c in weights:
        result.append(c if covered is None else (c - covered).clamp(min=0.0))
        covered = c if covered is None else covered + c
    return result
