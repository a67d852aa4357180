"""Image-space regularisers: total variation and colour-statistics matching."""

import torch

from core.losses._common import at_least_float32


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Anisotropic squared TV of ``B,C,H,W``: mean of squared horizontal plus mean of squared vertical differences."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def colour_stats_loss(image: torch.Tensor, target_mean: torch.Tensor, target_cov: torch.Tensor) -> torch.Tensor:
    """Match the RGB mean (``3``) and covariance (``3,3``) of ``image`` ``B,3,H,W``: ``‖μ−μ_t‖² + ‖Σ−Σ_t‖²_F``."""
    pixels = at_least_float32(image).permute(0, 2, 3, 1).reshape(-1, 3)
    mean = pixels.mean(dim=0)
    centred = pixels - mean
    cov = centred.T @ centred / pixels.shape[0]
    return (mean - target_mean).pow(2).sum() + (cov - target_cov).pow(2).sum()
