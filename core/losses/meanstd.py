"""Mean/std (AdaIN) style loss: per-channel first and second moments matched per layer (Huang & Belongie 2017)."""

from typing import Mapping, Optional

import torch

from core.losses._common import at_least_float32, layer_weights

EPS = 1e-5


def feature_stats(features: torch.Tensor, eps: float = EPS) -> "tuple[torch.Tensor, torch.Tensor]":
    """Per-channel spatial mean and std of ``B,C,H,W`` → two ``B,C`` tensors; ``std = sqrt(var + eps)`` (biased var)."""
    feats = at_least_float32(features)
    mean = feats.mean(dim=(2, 3))
    var = feats.var(dim=(2, 3), unbiased=False)
    return mean, torch.sqrt(var + eps)


def meanstd_style_loss(
    features: Mapping[str, torch.Tensor],
    target_stats: Mapping[str, "tuple[torch.Tensor, torch.Tensor]"],
    weights: Optional[Mapping[str, float]] = None,
) -> torch.Tensor:
    """``Σ_l w_l [MSE(μ(F_l), μ_t) + MSE(σ(F_l), σ_t)]``; MSE is the mean over batch and channels.

    Targets are ``(mean, std)`` pairs of shape ``C`` or ``B,C``, e.g. from :func:`feature_stats`.
    """
    layers = list(target_stats)
    weights = layer_weights(layers, weights)
    total = None
    for layer in layers:
        mean, std = feature_stats(features[layer])
        t_mean, t_std = target_stats[layer]
        term = torch.mean((mean - t_mean.to(mean)) ** 2) + torch.mean((std - t_std.to(std)) ** 2)
        term = weights[layer] * term
        total = term if total is None else total + term
    return total
