"""Contrastive style loss (after UCAST / CAST): InfoNCE over learned style codes with an input-dependent temperature.

A style code summarises an image's style from its VGG features: per layer, the channel means and stds
(``2C`` numbers) go through a linear projection and an MLP; the per-layer results are concatenated,
projected again and L2-normalised. A small head predicts a per-sample temperature
``τᵢ = τ_min + (τ_max − τ_min)·sigmoid(h(zᵢ))`` (UCAST describes an adaptive temperature only in its abstract:
this head is our own design).

For anchor i with positive pᵢ (another augmentation of the same style image) and negatives nⱼ (other styles
in the batch and a FIFO queue of earlier codes):

    L_i = −log( exp(zᵢ·pᵢ/τᵢ) / (exp(zᵢ·pᵢ/τᵢ) + Σⱼ exp(zᵢ·nⱼ/τᵢ)) ),   L = mean_i L_i.

It is a training-time loss: its projector is trained together with a feed-forward decoder.
"""

from typing import Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from core.losses.meanstd import feature_stats


class StyleProjector(nn.Module):
    """Maps ``{layer: B,C_l,H,W}`` feature dicts to unit style codes ``B,code_dim`` and raw temperature logits ``B``."""

    def __init__(self, channels: Mapping[str, int], code_dim: int = 128, hidden: int = 256):
        super().__init__()
        self.layers = list(channels)
        self.per_layer = nn.ModuleDict({
            layer: nn.Sequential(nn.Linear(2 * c, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            for layer, c in channels.items()
        })
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden * len(self.layers), code_dim))
        self.temperature_head = nn.Linear(code_dim, 1)

    def forward(self, features: Mapping[str, torch.Tensor]) -> "tuple[torch.Tensor, torch.Tensor]":
        parts = []
        for layer in self.layers:
            mean, std = feature_stats(features[layer])
            stats = torch.cat([mean, std], dim=1).to(self.head[1].weight.dtype)
            parts.append(self.per_layer[layer](stats))
        code = F.normalize(self.head(torch.cat(parts, dim=1)), dim=1)
        return code, self.temperature_head(code).squeeze(1)


class ContrastiveStyleLoss(nn.Module):
    """InfoNCE over style codes with per-sample temperature in ``[tau_min, tau_max]`` and a negative queue.

    ``forward(anchor_features, positive_features, style_ids=None)``: feature dicts of two augmentations
    (``B`` images each) of the same ``B`` style images. ``style_ids`` (``B`` ints) marks images that share a
    style, so they are never used as each other's negatives (also against queued codes). Returns a scalar.
    """

    def __init__(self, channels: Mapping[str, int], code_dim: int = 128, tau_min: float = 0.05,
                 tau_max: float = 0.2, queue_size: int = 4096):
        super().__init__()
        if not 0 < tau_min <= tau_max:
            raise ValueError(f"need 0 < tau_min <= tau_max, got {tau_min}, {tau_max}")
        self.projector = StyleProjector(channels, code_dim)
        self.tau_min, self.tau_max = tau_min, tau_max
        self.queue_size = queue_size
        self.register_buffer("queue", torch.zeros(0, code_dim))
        self.register_buffer("queue_ids", torch.zeros(0, dtype=torch.long))

    def temperatures(self, logits: torch.Tensor) -> torch.Tensor:
        """Map raw logits ``B`` to temperatures in ``[tau_min, tau_max]``."""
        return self.tau_min + (self.tau_max - self.tau_min) * torch.sigmoid(logits)

    def info_nce(self, anchor: torch.Tensor, positive: torch.Tensor, tau: torch.Tensor,
                 style_ids: torch.Tensor) -> torch.Tensor:
        """InfoNCE from unit codes ``anchor``/``positive`` ``B,D``, temperatures ``B`` and style ids ``B``."""
        negatives = torch.cat([positive, self.queue.to(positive)], dim=0)
        negative_ids = torch.cat([style_ids, self.queue_ids.to(style_ids.device)], dim=0)
        pos_logit = (anchor * positive).sum(dim=1, keepdim=True)
        neg_logits = anchor @ negatives.T
        same_style = style_ids.unsqueeze(1) == negative_ids.unsqueeze(0)
        # Divide by τ before masking: -inf/τ would give NaN gradients for τ.
        logits = torch.cat([pos_logit, neg_logits], dim=1) / tau.unsqueeze(1)
        logits = torch.cat([logits[:, :1], logits[:, 1:].masked_fill(same_style, float("-inf"))], dim=1)
        return -F.log_softmax(logits, dim=1)[:, 0].mean()

    def forward(self, anchor_features: Mapping[str, torch.Tensor], positive_features: Mapping[str, torch.Tensor],
                style_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        anchor, logits = self.projector(anchor_features)
        positive, _ = self.projector(positive_features)
        if style_ids is None:
            style_ids = torch.arange(anchor.shape[0], device=anchor.device)
        return self.info_nce(anchor, positive, self.temperatures(logits), style_ids)

    @torch.no_grad()
    def enqueue(self, codes: torch.Tensor, style_ids: torch.Tensor) -> None:
        """Push detached codes ``B,D`` (and their style ids) into the FIFO negative queue."""
        self.queue = torch.cat([codes.detach().to(self.queue), self.queue])[: self.queue_size]
        self.queue_ids = torch.cat([style_ids.to(self.queue_ids), self.queue_ids])[: self.queue_size]


def layer_channels(layers: Sequence[str]) -> dict:
    """Channel count of VGG19 layers by name (``relu3_1`` → 256)."""
    per_block = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
    return {layer: per_block[int(layer.lstrip("convrelupool")[0])] for layer in layers}
