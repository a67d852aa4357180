"""Structure-keeping terms on the geometry of a scene."""

from __future__ import annotations

import torch


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def xing_loss(ctrl: torch.Tensor) -> torch.Tensor:
    """Xing loss of LIVE (Ma et al. 2022) against self-intersecting cubics; ``ctrl`` (S, 4, 2) -> scalar.

    For control points A, B, C, D: ``D1 = 1[AB × BC ≥ 0]`` (turn direction at B) and
    ``D2 = (AB × CD) / (|AB| |CD|)``; the loss ``D1·relu(−D2) + (1 − D1)·relu(D2)`` is zero when the curve
    keeps turning one way and positive when CD turns against AB, as in a looped cubic. Mean over cubics.
    """
    if ctrl.shape[0] == 0:
        return ctrl.sum() * 0.0
    ab, bc, cd = ctrl[:, 1] - ctrl[:, 0], ctrl[:, 2] - ctrl[:, 1], ctrl[:, 3] - ctrl[:, 2]
    d1 = (_cross(ab, bc) >= 0).to(ctrl.dtype)
    d2 = _cross(ab, cd) / (ab.norm(dim=-1) * cd.norm(dim=-1)).clamp_min(1e-6)
    return (d1 * torch.relu(-d2) + (1 - d1) * torch.relu(d2)).mean()
