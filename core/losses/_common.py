"""Helpers shared by the losses: per-layer weights and precision."""

from typing import Mapping, Optional, Sequence

import torch


def layer_weights(layers: Sequence[str], weights: Optional[Mapping[str, float]]) -> dict:
    """``{layer: weight}`` for ``layers``; missing entries (or ``weights=None``) default to 1."""
    weights = weights or {}
    unknown = set(weights) - set(layers)
    if unknown:
        raise ValueError(f"weights given for layers that are not used: {sorted(unknown)}")
    return {name: float(weights.get(name, 1.0)) for name in layers}


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """Upcast half/bfloat16 to float32 (statistics are computed in fp32); float64 stays float64."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor
