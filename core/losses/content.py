"""Content (feature reconstruction) loss."""

import torch


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between two feature maps ``B,C,H,W`` (mean over every element)."""
    if features.shape != target.shape:
        raise ValueError(f"content features {tuple(features.shape)} and target {tuple(target.shape)} differ in shape")
    return torch.mean((features - target) ** 2)
