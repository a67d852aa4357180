"""A loaded latent diffusion model and its image/prompt conversions (pure torch; no diffusers import here)."""

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F


@dataclass
class DiffusionModel:
    """UNet, VAE, CLIP text encoder, tokenizer and DDIM scheduler of one Stable-Diffusion-style model.

    All networks are in eval mode with ``requires_grad=False``; ``dtype`` is their parameter dtype.
    Latents handled by this toolkit are float32 ``B,C,h,w`` already multiplied by the VAE scaling factor.
    """

    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: object
    scheduler: object
    device: torch.device
    dtype: torch.dtype

    def __post_init__(self):
        for net in (self.unet, self.vae, self.text_encoder):
            net.to(self.device).eval().requires_grad_(False)

    @property
    def vae_factor(self) -> int:
        """Pixels per latent cell along one side (8 for Stable Diffusion)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this (VAE downsampling × UNet downsampling; 64 for SD)."""
        return self.vae_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    @property
    def latent_scale(self) -> float:
        return float(self.vae.config.scaling_factor)

    @torch.no_grad()
    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        """Text embeddings ``len(prompts),L,D`` (model dtype) for the UNet's cross-attention."""
        return self.text_embeddings(prompts)

    def text_embeddings(self, prompts: Sequence[str]) -> torch.Tensor:
        """:meth:`encode_prompts` with gradients (to learned token embeddings, see :mod:`core.priors.inversion`)."""
        tokens = self.tokenizer(list(prompts), padding="max_length", max_length=self.tokenizer.model_max_length,
                                truncation=True, return_tensors="pt")
        return self.text_encoder(tokens.input_ids.to(self.device))[0]

    def encode_images(self, images: torch.Tensor, generator: "torch.Generator | None" = None) -> torch.Tensor:
        """``B,3,H,W`` in [0,1] (H, W multiples of ``vae_factor``) → scaled latents ``B,C,H/f,W/f`` float32.

        The VAE posterior's mean, or a sample from it drawn with ``generator`` when one is given.
        Differentiable with respect to ``images``.
        """
        pixels = (images * 2.0 - 1.0).to(device=self.device, dtype=self.dtype)
        posterior = self.vae.encode(pixels).latent_dist
        latents = posterior.mean if generator is None else posterior.sample(generator=generator)
        return latents.float() * self.latent_scale

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled latents ``B,C,h,w`` → images ``B,3,h·f,w·f`` float32 in [0,1]."""
        pixels = self.vae.decode((latents / self.latent_scale).to(self.dtype)).sample.float()
        return ((pixels + 1.0) / 2.0).clamp(0.0, 1.0)

    def working_size(self, height: int, width: int) -> "tuple[int, int]":
        """The nearest smaller sides that are multiples of ``size_multiple`` (at least one multiple each)."""
        m = self.size_multiple
        return max(m, height // m * m), max(m, width // m * m)


def resize_to(images: torch.Tensor, size: "tuple[int, int]") -> torch.Tensor:
    """Resize ``B,3,H,W`` in [0,1] to ``size`` = (H', W') (antialiased bicubic, clamped); unchanged when equal."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0.0, 1.0)
