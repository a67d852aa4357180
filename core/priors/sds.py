"""Score distillation sampling (DreamFusion, Poole et al. 2022; VectorFusion, Jain et al. 2023) as a loss.

For rendered images x, latents z = E(x) (VAE encoder, differentiable), a timestep t and noise ε::

    z_t = √ᾱ_t·z + √(1−ᾱ_t)·ε,   ε̂ = ε_uncond + s·(ε_cond − ε_uncond)  (UNet, no gradient),
    g = weight · w(t) · (ε̂ − ε),  w(t) = 1 − ᾱ_t,
    loss = ½·‖z − sg(z − g)‖² / B   so that   ∂loss/∂z = g / B.

The loss value itself is ½‖g‖²/B (useful only as a progress number); its gradient is the SDS gradient
g·∂z/∂x / B. Cost per call: one VAE-encoder forward and backward at the working resolution plus one UNet forward on
a batch of 2·B latents (B with guidance scale 1); nothing was timed on a GPU here.
"""

import os
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from core.errors import InputError
from core.priors.ddim import alpha_bar, predict_noise
from core.priors.loading import as_diffusion_model
from core.priors.model import DiffusionModel


class SDSLoss:
    """Callable score-distillation loss for a batch of renders ``B,3,H,W`` in [0,1]; returns a scalar tensor.

    Args:
        model: a local Stable Diffusion folder (diffusers layout) or a loaded :class:`DiffusionModel`.
        prompt: text the renders should match.
        guidance_scale: classifier-free guidance scale (DreamFusion uses 100; 1 disables guidance).
        t_range: fractions of the training timesteps between which t is drawn uniformly per call.
        weight: overall factor (the front ends' ``--sds-weight``); 0 gives an exactly zero gradient.
        resolution: renders are resized (differentiably) so their long side is this many pixels, then rounded
            down to multiples of the model's ``size_multiple``; 512 suits SD 1.5/2.1-base. None keeps their size.
        negative_prompt: text for the unconditional branch of guidance.
        seed: seeds the timestep and noise draws (None: torch's global generator).
        device: where to load ``model`` when it is a path.

    Example::

        sds = SDSLoss("models/sd15", "a watercolor painting of a fox", device="cuda")
        loss = vgg_losses + sds(render)   # render: B,3,H,W in [0,1], requires grad
    """

    def __init__(self, model: Union[str, "os.PathLike", DiffusionModel], prompt: str, *,
                 guidance_scale: float = 100.0, t_range: Tuple[float, float] = (0.02, 0.98), weight: float = 1.0,
                 resolution: Optional[int] = 512, negative_prompt: str = "", seed: Optional[int] = None,
                 device: "str | torch.device" = "cpu"):
        if not 0.0 <= t_range[0] < t_range[1] <= 1.0:
            raise InputError(f"SDS t_range must satisfy 0 <= low < high <= 1, got {tuple(t_range)}")
        self.model = as_diffusion_model(model, device)
        self.cond = self.model.encode_prompts([prompt])
        self.uncond = self.model.encode_prompts([negative_prompt])
        steps = int(self.model.scheduler.config.num_train_timesteps)
        self.t_min, self.t_max = int(t_range[0] * steps), min(steps - 1, int(t_range[1] * steps))
        self.guidance_scale, self.weight, self.resolution = float(guidance_scale), float(weight), resolution
        self.generator = None if seed is None else torch.Generator(self.model.device).manual_seed(int(seed))

    def _working_images(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2:]
        if self.resolution is not None:
            scale = self.resolution / max(h, w)
            h, w = round(h * scale), round(w * scale)
        size = self.model.working_size(h, w)
        if size == tuple(images.shape[-2:]):
            return images
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)

    def __call__(self, images: torch.Tensor, *, timestep: Optional[int] = None,
                 noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """SDS loss of ``images`` ``B,3,H,W`` in [0,1]; ``timestep``/``noise`` (latent-shaped) fix the random draws."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise InputError(f"SDS expects renders shaped B,3,H,W, got {tuple(images.shape)}")
        latents = self.model.encode_images(self._working_images(images))
        if timestep is None:
            timestep = int(torch.randint(self.t_min, self.t_max + 1, (1,), generator=self.generator,
                                         device=self.model.device))
        if noise is None:
            noise = torch.randn(latents.shape, generator=self.generator, device=self.model.device)
        a = alpha_bar(self.model, timestep)
        with torch.no_grad():
            noisy = a ** 0.5 * latents + (1.0 - a) ** 0.5 * noise
            eps = predict_noise(self.model, noisy, timestep, self.cond, self.uncond, self.guidance_scale)
            grad = self.weight * (1.0 - a) * (eps - noise)
        target = (latents - grad).detach()
        return 0.5 * F.mse_loss(latents, target, reduction="sum") / images.shape[0]
