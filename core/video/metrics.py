"""Temporal consistency metrics: masked warping error over frame ranges ``k``.

For each pair ``(t, t+k)`` the flow is computed on the *original* frames; the stylized frame ``t+k`` is
warped onto ``t`` and compared with stylized frame ``t`` over pixels that pass the forward–backward check
and land inside the frame: ``E_k = mean_t [ Σ_p m·|y_t − ω(y_{t+k})|² / (C · Σ_p m) ]`` with ``y`` in [0,1].
"""

import collections
from typing import Dict, Iterable, Sequence

import torch

from core.video.flow import estimate_flow
from core.video.masks import consistency_weights
from core.video.warp import backward_warp


def pair_warping_error(original_a: torch.Tensor, original_b: torch.Tensor, stylized_a: torch.Tensor,
                       stylized_b: torch.Tensor, flow_method: str = "dis") -> float:
    """Masked MSE between ``stylized_a`` and ``stylized_b`` warped onto it (flow from the originals).

    All frames ``1,3,H,W`` in [0,1] of one size. Returns NaN when no pixel is visible in both frames.
    """
    back = estimate_flow(original_a, original_b, flow_method)
    forth = estimate_flow(original_b, original_a, flow_method)
    visible = consistency_weights(back, forth, boundary_weight=1.0)
    error = (visible * (stylized_a - backward_warp(stylized_b, back)).square()).sum()
    count = visible.sum() * stylized_a.shape[1]
    return float(error / count) if count > 0 else float("nan")


def warping_errors(originals: Iterable[torch.Tensor], stylized: Iterable[torch.Tensor], ranges: Sequence[int] = (1, 10),
                   flow_method: str = "dis") -> Dict[int, dict]:
    """``{k: {"mse": mean masked MSE, "pairs": count}}`` over all pairs ``(t, t+k)``, streamed.

    ``originals`` and ``stylized`` yield ``1,3,H,W`` frames in [0,1] in step; only ``max(ranges)+1`` of each
    are held. A range longer than the sequence has ``pairs = 0`` and ``mse = None``.
    """
    depth = max(ranges) + 1
    held_o: collections.deque = collections.deque(maxlen=depth)
    held_s: collections.deque = collections.deque(maxlen=depth)
    sums = {k: [0.0, 0] for k in ranges}
    for original, styled in zip(originals, stylized):
        held_o.append(original)
        held_s.append(styled)
        for k in ranges:
            if len(held_o) > k:
                value = pair_warping_error(held_o[-1 - k], original, held_s[-1 - k], styled, flow_method)
                if value == value:  # skip pairs without visible pixels (NaN)
                    sums[k][0] += value
                    sums[k][1] += 1
    return {k: {"mse": (total / n if n else None), "pairs": n} for k, (total, n) in sums.items()}
