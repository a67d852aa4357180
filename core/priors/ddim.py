"""Deterministic DDIM (η = 0) sampling and inversion on scaled latents.

One DDIM move between noise levels ``a_from → a_to`` (``a`` = cumulative alpha ᾱ) with a noise estimate ε::

    x0 = (x − √(1−a_from)·ε) / √a_from,     x' = √a_to·x0 + √(1−a_to)·ε

Sampling walks the timesteps ``τ_0 > τ_1 > … > τ_{S−1}`` downward with ε = UNet(x_τi, τ_i); inversion walks the same
levels upward and evaluates ε = UNet(x, τ_i) on the latent one level below (the usual approximation), so
inversion then sampling reconstructs the start up to the change of ε between neighbouring levels (optional
fixed-point refinements shrink that gap). Both
loops call ``on_step(t)`` before each UNet evaluation at timestep ``t`` (attention processors use it to know the
current timestep). Latents stay float32; the UNet runs in the model's dtype.
"""

from typing import Callable, List, Optional

import torch
from tqdm import tqdm

from core.errors import InputError
from core.priors.model import DiffusionModel

StepHook = Optional[Callable[[int], None]]


def ddim_timesteps(model: DiffusionModel, steps: int) -> List[int]:
    """The ``steps`` DDIM timesteps of the model's scheduler, highest first (spacing from its config)."""
    limit = int(model.scheduler.config.num_train_timesteps)
    if not 1 <= steps <= limit:
        raise InputError(f"DDIM steps must be between 1 and {limit}, got {steps}")
    model.scheduler.set_timesteps(steps)
    return [int(t) for t in model.scheduler.timesteps]


def alpha_bar(model: DiffusionModel, t: int) -> float:
    """Cumulative alpha ᾱ_t; ``t < 0`` means the clean end of the chain (the scheduler's final ᾱ)."""
    if t < 0:
        return float(model.scheduler.final_alpha_cumprod)
    return float(model.scheduler.alphas_cumprod[t])


def ddim_move(x: torch.Tensor, eps: torch.Tensor, a_from: float, a_to: float) -> torch.Tensor:
    """Move latent ``x`` from noise level ᾱ = ``a_from`` to ``a_to`` along the DDIM (η = 0) path of ``eps``."""
    x0 = (x - (1.0 - a_from) ** 0.5 * eps) / a_from ** 0.5
    return a_to ** 0.5 * x0 + (1.0 - a_to) ** 0.5 * eps


def predict_noise(model: DiffusionModel, x: torch.Tensor, t: int, cond: torch.Tensor,
                  uncond: Optional[torch.Tensor] = None, guidance_scale: float = 1.0) -> torch.Tensor:
    """ε̂ for latents ``x`` (B,C,h,w float32) at timestep ``t``; classifier-free guidance when ``uncond`` is given.

    ``cond``/``uncond``: text embeddings ``B,L,D`` (or ``1,L,D``, broadcast). Returns float32 ``B,C,h,w``.
    """
    batch = x.shape[0]
    cond = cond.expand(batch, -1, -1)
    latents = x.to(model.dtype)
    if uncond is None or guidance_scale == 1.0:
        return model.unet(latents, t, encoder_hidden_states=cond).sample.float()
    both = model.unet(torch.cat([latents, latents]), t,
                      encoder_hidden_states=torch.cat([uncond.expand(batch, -1, -1), cond])).sample.float()
    eps_uncond, eps_cond = both.chunk(2)
    return eps_uncond + guidance_scale * (eps_cond - eps_uncond)


@torch.no_grad()
def invert(model: DiffusionModel, latents: torch.Tensor, cond: torch.Tensor, steps: int, refinements: int = 0,
           on_step: StepHook = None, progress: bool = False) -> List[torch.Tensor]:
    """DDIM inversion of clean scaled latents ``B,C,h,w`` (no guidance).

    ``refinements``: extra fixed-point passes per step that re-evaluate ε̂ at the current estimate of the upper
    latent, so the step approaches the exact inverse of the sampling step (0 = classic DDIM inversion, as in
    StyleID; each pass costs one more UNet evaluation).
    Returns the trajectory in sampling order: element ``i`` is the latent at ``ddim_timesteps(model, steps)[i]``,
    so element 0 is the inverted noise latent x_T.
    """
    timesteps = ddim_timesteps(model, steps)
    x = latents.float()
    trajectory = []
    levels = [-1] + timesteps[::-1]
    for lower, t in tqdm(list(zip(levels[:-1], levels[1:])), desc="DDIM inversion", disable=not progress, leave=False):
        upper = x
        for _ in range(1 + refinements):
            if on_step is not None:
                on_step(t)
            eps = predict_noise(model, upper, t, cond)
            upper = ddim_move(x, eps, alpha_bar(model, lower), alpha_bar(model, t))
        x = upper
        trajectory.append(x)
    return trajectory[::-1]


@torch.no_grad()
def sample(model: DiffusionModel, latents: torch.Tensor, cond: torch.Tensor, steps: int,
           uncond: Optional[torch.Tensor] = None, guidance_scale: float = 1.0, on_step: StepHook = None,
           before_step: Optional[Callable[[int, torch.Tensor], torch.Tensor]] = None,
           progress: bool = False) -> torch.Tensor:
    """DDIM sampling from noise latents ``B,C,h,w`` at the highest timestep down to clean scaled latents.

    ``before_step(i, x) -> x`` may replace the latents before step ``i`` (used to pin a reference image to its
    inversion trajectory). Returns float32 ``B,C,h,w``.
    """
    timesteps = ddim_timesteps(model, steps)
    x = latents.float()
    for i, (t, lower) in enumerate(tqdm(list(zip(timesteps, timesteps[1:] + [-1])), desc="DDIM sampling",
                                        disable=not progress, leave=False)):
        if before_step is not None:
            x = before_step(i, x)
        if on_step is not None:
            on_step(t)
        eps = predict_noise(model, x, t, cond, uncond, guidance_scale)
        x = ddim_move(x, eps, alpha_bar(model, t), alpha_bar(model, lower))
    return x
