"""Gram-matrix style loss (Gatys et al. 2016).

With features ``F`` of a layer reshaped to ``N × M`` (N channels, M = H·W positions) and ``G = F Fᵀ``:

* ``convention="gatys"``: ``E_l = Σ (G − A)² / (4 N² M²)`` — the paper's normalisation.
* ``convention="normalized"``: Grams divided by M, then the mean squared error over the ``N×N`` entries:
  ``E_l = Σ (G/M − A/M)² / N² = Σ (G − A)² / (N² M²)`` — pystiche's convention, 4× the paper's value.

``target_grams`` are always stored normalised (``G/M``), so one target serves outputs of any size.
"""

from typing import Mapping, Optional, Sequence

import torch

from core.losses._common import at_least_float32, layer_weights

CONVENTIONS = ("gatys", "normalized")


def gram_matrix(features: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """``B,C,H,W`` → ``B,C,C`` Gram matrix ``F Fᵀ``, divided by ``H·W`` when ``normalize`` (computed in fp32)."""
    b, c, h, w = features.shape
    flat = at_least_float32(features).reshape(b, c, h * w)
    gram = flat @ flat.transpose(1, 2)
    return gram / (h * w) if normalize else gram


def blend_grams(grams: Sequence[Mapping[str, torch.Tensor]], weights: Optional[Sequence[float]] = None) -> dict:
    """Weighted average of several style images' normalised Grams, per layer (weights renormalised to sum 1)."""
    if not grams:
        raise ValueError("need at least one set of Gram matrices")
    weights = [1.0] * len(grams) if weights is None else [float(w) for w in weights]
    if len(weights) != len(grams) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"blend weights {weights} must be {len(grams)} non-negative numbers with a positive sum")
    total = sum(weights)
    return {layer: sum(w / total * g[layer] for w, g in zip(weights, grams)) for layer in grams[0]}


def gram_style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    weights: Optional[Mapping[str, float]] = None,
    convention: str = "normalized",
    mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Weighted sum over layers of the Gram loss between ``features[l]`` and ``target_grams[l]`` (``C,C`` or ``B,C,C``).

    ``mask`` (``B,1,H,W`` in [0,1], image resolution) restricts the output's statistics to the masked region:
    features are multiplied by the resized mask and the Gram is divided by the mask's area instead of ``H·W``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown Gram convention {convention!r}; choose from {CONVENTIONS}")
    layers = list(target_grams)
    weights = layer_weights(layers, weights)
    total = None
    for layer in layers:
        feats = at_least_float32(features[layer])
        b, c, h, w = feats.shape
        if mask is None:
            gram = gram_matrix(feats)
        else:
            m = torch.nn.functional.interpolate(mask.to(feats.dtype), size=(h, w), mode="bilinear", align_corners=False)
            area = m.sum(dim=(2, 3)).clamp_min(1.0).view(b, 1, 1)
            gram = gram_matrix(feats * m.sqrt(), normalize=False) / area
        diff = gram - target_grams[layer].to(gram)
        term = diff.pow(2).sum(dim=(1, 2)).mean() / (c * c)
        if convention == "gatys":
            term = term / 4.0
        term = weights[layer] * term
        total = term if total is None else total + term
    return total
