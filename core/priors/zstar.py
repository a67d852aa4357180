"""Z-Star-like training-free style transfer by attention reweighting (after Deng et al., "Z*: Zero-shot Style
Transfer via Attention Reweighting", CVPR 2024; our reading of the method, not a port of its code).

Dual-branch reconstruction: the content and style latents are DDIM-inverted and, while sampling, two branches
of the batch are pinned to those inversion trajectories, so at every timestep they reconstruct the content and
the style exactly and expose their self-attention keys and values. A third branch starts from the content's
inverted noise; in the chosen decoder self-attention layers its queries attend to the keys of both branches,
the style's logits shifted by ``log w`` (the reweighting), so its attention map is

    A_ij = exp(l_ij + b_j) / Σ_k exp(l_ik + b_k),   l = T·q·kᵀ/√d,   b_j = log w (style keys), 0 (content keys)

Each row sums to one; ``w > 1`` moves attention mass from the content's keys toward the style's (``w = 1``: the
plain concatenation; mass on style keys = w·S / (C + w·S) with S, C the unweighted row sums). The prompt is
empty and there is no guidance, as in StyleID. Cost: per step one UNet call on a batch of 3.
"""

import math
from typing import Optional

import torch

from core.errors import InputError
from core.priors.attention import LayerSpec, SelfAttention, attention_heads, installed_processors, project_out, \
    select_layers, self_attention_layers
from core.priors.ddim import invert, sample
from core.priors.model import DiffusionModel

ZSTAR_LAYER_COUNT = 5
"""Default: the last five decoder self-attention layers (as StyleID's injection)."""

GROUP = 3
"""Batch rows per image: content branch, style branch, stylized branch."""


def reweighted_attention_map(q: torch.Tensor, k_content: torch.Tensor, k_style: torch.Tensor, scale: float,
                             weight: float) -> torch.Tensor:
    """``A = softmax([q·k_cᵀ, q·k_sᵀ + log w]·scale)``: ``q`` ``…,Lq,d``, keys ``…,Lc,d`` / ``…,Ls,d``;
    returns ``…,Lq,Lc+Ls`` (content columns first), rows summing to one."""
    logits = torch.cat([q @ k_content.transpose(-1, -2), q @ k_style.transpose(-1, -2)], dim=-1) * scale
    logits[..., k_content.shape[-2]:] += math.log(weight)
    return torch.softmax(logits, dim=-1)


class ZStarProcessor(SelfAttention):
    """Self-attention on batches of [content, style, stylized] groups; the stylized rows attend to the content's
    and the style's keys/values with the style reweighted by ``weight`` and logits multiplied by ``temperature``."""

    def __init__(self, weight: float = 2.0, temperature: float = 1.0):
        if weight <= 0 or temperature <= 0:
            raise InputError("the Z-Star style weight and temperature must be positive")
        self.weight, self.temperature = weight, temperature

    def compute(self, attn, q, k, v, residual):
        if q.shape[0] % GROUP:
            raise ValueError(f"ZStarProcessor needs batches of [content, style, stylized] groups, got {q.shape[0]}")
        out = attention_heads(attn, q, k, v)
        c, s, x = slice(0, None, GROUP), slice(1, None, GROUP), slice(2, None, GROUP)
        keys = torch.cat([k[c], k[s]], dim=-2)
        values = torch.cat([v[c], v[s]], dim=-2)
        bias = torch.zeros(1, keys.shape[-2], dtype=q.dtype, device=q.device)
        bias[:, k.shape[-2]:] = math.log(self.weight)  # added after the logits are scaled, as in the formula
        out[x] = attention_heads(attn, q[x], keys, values, logit_scale=self.temperature, bias=bias)
        return project_out(attn, out, residual)


def zstar_latents(model: DiffusionModel, content: torch.Tensor, style: torch.Tensor, *, weight: float = 2.0,
                  temperature: float = 1.0, steps: int = 50, layers: LayerSpec = None, inversion_refinements: int = 0,
                  progress: bool = False) -> torch.Tensor:
    """Stylized latents ``1,C,h,w`` from clean scaled content/style latents ``1,C,h,w`` (same size)."""
    cond = model.encode_prompts([""])
    chosen = select_layers(self_attention_layers(model.unet, "decoder"), layers, ZSTAR_LAYER_COUNT)
    content_traj = invert(model, content, cond, steps, inversion_refinements, progress=progress)
    style_traj = invert(model, style, cond, steps, inversion_refinements, progress=progress)

    def pin_branches(i: int, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([content_traj[i], style_traj[i], x[2:]])

    processors = {name: ZStarProcessor(weight, temperature) for name in chosen}
    start = torch.cat([content_traj[0], style_traj[0], content_traj[0]])
    with installed_processors(model.unet, processors):
        latents = sample(model, start, cond, steps, before_step=pin_branches, progress=progress)
    return latents[2:]


def stylize_zstar(content: torch.Tensor, style: torch.Tensor, model_path, *, weight: float = 2.0,
                  temperature: float = 1.0, steps: int = 50, layers: LayerSpec = None, seed: Optional[int] = 0,
                  inversion_refinements: int = 0, device="cpu", progress: bool = True) -> torch.Tensor:
    """Stylize ``content`` ``1,3,H,W`` in [0,1] with ``style`` ``1,3,H',W'``; returns float32 ``1,3,H,W`` in [0,1].

    Sizes, ``seed`` (VAE posterior draw) and ``inversion_refinements`` as in
    :func:`core.priors.style_injection.stylize_styleid`.
    """
    from core.priors.style_injection import latent_transfer

    def run(model, latents_c, latents_s):
        return zstar_latents(model, latents_c, latents_s, weight=weight, temperature=temperature, steps=steps,
                             layers=layers, inversion_refinements=inversion_refinements, progress=progress)

    return latent_transfer(content, style, model_path, run, seed=seed, device=device)
