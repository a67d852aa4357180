"""Feature transforms of feed-forward style transfer, applied to ``relu4_1`` features before decoding.

* AdaIN (Huang & Belongie 2017): ``t = σ(s)·(c − μ(c))/σ(c) + μ(s)`` per channel, ``σ = sqrt(var + 1e-5)``.
* WCT (Li et al. 2017): whiten the centred content features with ``E_c D_c^{-1/2} E_cᵀ`` and colour them with
  ``E_s D_s^{1/2} E_sᵀ``, then add the style mean. The eigen-decompositions run in float64 and keep only
  eigenvalues above ``rel_eps × largest`` (an absolute floor too), so covariances of rank-deficient features —
  fewer pixels than channels, flat regions, dead channels — whiten on their range instead of dividing by ~0.

Controls shared by both: ``alpha`` (``t ← α·t + (1−α)·c``), several styles interpolated with weights (a weighted
sum of the per-style transformed features), and a label map that gives each region its own style (each region's
content statistics are taken over that region only).

Features are ``B,C,H,W`` float tensors; internally they are handled as ``C,N`` columns of one image.
"""

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from core.errors import InputError
from core.losses import feature_stats

METHODS = ("adain", "wct")
WCT_REL_EPS = 1e-5
WCT_ABS_EPS = 1e-8


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Batched AdaIN: content ``B,C,H,W`` takes the per-channel mean/std of style ``B,C,h,w``; returns ``B,C,H,W``."""
    c_mean, c_std = feature_stats(content)
    s_mean, s_std = feature_stats(style)
    normalised = (content - c_mean[..., None, None]) / c_std[..., None, None]
    return (normalised * s_std[..., None, None] + s_mean[..., None, None]).to(content.dtype)


def adain_columns(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """AdaIN of content columns ``C,N`` with the statistics of style columns ``C,M``; returns ``C,N``."""
    return adain(content[None, :, :, None], style[None, :, :, None])[0, :, :, 0]


def _covariance_root(columns: torch.Tensor, power: float, rel_eps: float) -> "tuple[torch.Tensor, torch.Tensor]":
    """Mean ``C,1`` and ``Cov^power`` ``C,C`` (float64) of ``C,N`` columns, on the covariance's numerical range.

    Eigenvalues below ``rel_eps·λ_max`` (or :data:`WCT_ABS_EPS`) are treated as zero: their directions are dropped
    (a pseudo-inverse for negative powers), which is what keeps whitening finite for rank-deficient features.
    """
    x = columns.double()
    mean = x.mean(dim=1, keepdim=True)
    centred = x - mean
    cov = centred @ centred.T / max(1, x.shape[1] - 1)
    cov = (cov + cov.T) / 2
    eigvals, eigvecs = torch.linalg.eigh(cov)
    floor = max(WCT_ABS_EPS, rel_eps * float(eigvals.max().clamp_min(0)))
    keep = eigvals > floor
    scaled = torch.zeros_like(eigvals)
    scaled[keep] = eigvals[keep] ** power
    return mean, (eigvecs * scaled) @ eigvecs.T


def wct_columns(content: torch.Tensor, style: torch.Tensor, rel_eps: float = WCT_REL_EPS) -> torch.Tensor:
    """Whitening–colouring of content columns ``C,N`` to the covariance of style columns ``C,M``; returns ``C,N``."""
    c_mean, whiten = _covariance_root(content, -0.5, rel_eps)
    s_mean, colour = _covariance_root(style, 0.5, rel_eps)
    out = colour @ (whiten @ (content.double() - c_mean)) + s_mean
    return out.to(content.dtype)


TRANSFORMS: "dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]" = {
    "adain": adain_columns, "wct": wct_columns,
}


def _columns(features: torch.Tensor) -> torch.Tensor:
    if features.dim() != 4 or features.shape[0] != 1:
        raise ValueError(f"expected features of one image, 1,C,H,W; got {tuple(features.shape)}")
    return features[0].flatten(1)


def normalised_weights(count: int, weights: Optional[Sequence[float]]) -> "list[float]":
    """One non-negative weight per style, renormalised to sum 1 (equal weights when ``weights`` is None)."""
    if weights is None:
        return [1.0 / count] * count
    weights = [float(w) for w in weights]
    if len(weights) != count:
        raise InputError(f"--blend needs one weight per style image: got {len(weights)} weights for {count} styles")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise InputError(f"--blend weights {weights} must be non-negative with a positive sum")
    return [w / sum(weights) for w in weights]


def transform_features(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    method: str = "adain",
    alpha: float = 1.0,
    weights: Optional[Sequence[float]] = None,
    labels: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Stylize content features ``1,C,H,W`` with style features (each ``1,C,h,w``); returns ``1,C,H,W``.

    Without ``labels``: the weighted sum over styles of ``transform(content, style_k)`` (``weights``: one per
    style, renormalised; equal by default). With ``labels`` (``H,W`` integer map at feature resolution, values in
    ``0 … len(styles)−1``): region k is transformed with style k alone, using the content statistics of region k.
    ``alpha`` in [0, 1] blends the result with the content features.
    """
    if method not in TRANSFORMS:
        raise InputError(f"unknown feed-forward method {method!r}; choose from {', '.join(METHODS)}")
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"--alpha {alpha} is out of range; use a value in [0, 1]")
    if not styles:
        raise InputError("at least one style image is needed")
    transform = TRANSFORMS[method]
    c = _columns(content)
    style_columns = [_columns(s) for s in styles]
    if labels is None:
        mixed = sum(w * transform(c, s) for w, s in zip(normalised_weights(len(styles), weights), style_columns))
    else:
        if weights is not None:
            raise InputError("--blend and a label mask cannot be combined: the mask already picks one style per region")
        flat = labels.reshape(-1)
        if flat.numel() != c.shape[1]:
            raise ValueError(f"labels {tuple(labels.shape)} do not match features {tuple(content.shape[-2:])}")
        mixed = c.clone()
        for k, s in enumerate(style_columns):
            region = flat == k
            if region.any():
                mixed[:, region] = transform(c[:, region], s)
    out = alpha * mixed + (1.0 - alpha) * c
    return out.reshape(content.shape)


def labels_at(labels: torch.Tensor, size: "tuple[int, int]") -> torch.Tensor:
    """Nearest-neighbour resize of an integer label map ``H,W`` to ``size=(h, w)``."""
    resized = F.interpolate(labels[None, None].float(), size=size, mode="nearest")
    return resized[0, 0].long()
