"""StyleAligned-like generation (Hertz et al., "Style Aligned Image Generation via Shared Attention", CVPR 2024).

A batch is generated together with a reference image. In the chosen self-attention layers every generated image
attends to its own tokens and to the reference's: its queries and keys are first renormalised (AdaIN over tokens,
per head and channel) to the reference's statistics, and the logits of the reference's keys are shifted by
log(share_scale) (StyleAligned uses log 2). The reference attends only to itself, so sharing never changes it.
The reference is a user's style image: its DDIM inversion trajectory pins the reference latent at every step.
"""

import math
from typing import List, Sequence

import torch

from core.errors import InputError
from core.priors.attention import LayerSpec, SelfAttention, attention_heads, installed_processors, \
    match_statistics, project_out, select_layers, self_attention_layers
from core.priors.ddim import invert, sample
from core.priors.loading import as_diffusion_model
from core.priors.model import DiffusionModel, resize_to


class SharedAttentionProcessor(SelfAttention):
    """Self-attention over consecutive groups of ``group_size`` images whose first image is the reference.

    With classifier-free guidance the UNet batch is ``[uncond group, cond group]``; each group shares with its
    own reference.
    """

    def __init__(self, group_size: int, share_scale: float = 2.0):
        if share_scale <= 0:
            raise InputError(f"shared-attention scale must be positive, got {share_scale}")
        self.group_size, self.share_scale = group_size, share_scale

    def compute(self, attn, q, k, v, residual):
        batch, heads, tokens, dim = q.shape
        size = self.group_size
        q, k, v = (t.reshape(batch // size, size, heads, tokens, dim) for t in (q, k, v))
        ref_q, ref_k, ref_v = q[:, :1], k[:, :1], v[:, :1]
        others = size - 1
        q_o = match_statistics(q[:, 1:], ref_q, dims=(-2,))
        keys = torch.cat([ref_k.expand(-1, others, -1, -1, -1), match_statistics(k[:, 1:], ref_k, dims=(-2,))], dim=3)
        values = torch.cat([ref_v.expand(-1, others, -1, -1, -1), v[:, 1:]], dim=3)
        bias = q.new_zeros(tokens, 2 * tokens)
        bias[:, :tokens] = math.log(self.share_scale)

        def flat(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(-1, heads, t.shape[-2], dim)

        out_ref = attention_heads(attn, flat(ref_q), flat(ref_k), flat(ref_v)).view(-1, 1, heads, tokens, dim)
        out_o = attention_heads(attn, flat(q_o), flat(keys), flat(values), bias=bias).view(-1, others, heads, tokens, dim)
        return project_out(attn, torch.cat([out_ref, out_o], dim=1).view(batch, heads, tokens, dim), residual)


def generate_shared(model: DiffusionModel, prompts: Sequence[str], reference_trajectory: List[torch.Tensor],
                    reference_prompt: str = "", *, steps: int = 50, guidance_scale: float = 7.5,
                    share_scale: float = 2.0, layers: LayerSpec = None, seed: int = 0,
                    progress: bool = False) -> torch.Tensor:
    """Latents ``len(prompts),C,h,w`` generated with shared attention to a pinned reference.

    ``reference_trajectory``: the reference's DDIM inversion (:func:`core.priors.ddim.invert` with the same
    ``steps``), each ``1,C,h,w``. ``layers``: indices/names among all self-attention layers (default all;
    ``[]`` disables sharing). Initial noise is drawn from ``seed``.
    """
    group = len(prompts) + 1
    cond = model.encode_prompts([reference_prompt, *prompts])
    uncond = model.encode_prompts([""])
    chosen = select_layers(self_attention_layers(model.unet, "all"), layers)
    shape = (len(prompts),) + tuple(reference_trajectory[0].shape[1:])
    generator = torch.Generator(model.device).manual_seed(int(seed))
    noise = torch.randn(shape, generator=generator, device=model.device)

    def pin_reference(i: int, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([reference_trajectory[i], x[1:]])

    processors = {name: SharedAttentionProcessor(group, share_scale) for name in chosen}
    with installed_processors(model.unet, processors):
        latents = sample(model, torch.cat([reference_trajectory[0], noise]), cond, steps, uncond, guidance_scale,
                         before_step=pin_reference, progress=progress)
    return latents[1:]


def generate_with_style_reference(style: torch.Tensor, prompts: Sequence[str], model_path, *,
                                  reference_prompt: str = "", steps: int = 50, guidance_scale: float = 7.5,
                                  share_scale: float = 2.0, layers: LayerSpec = None, seed: int = 0,
                                  inversion_refinements: int = 0, device="cpu", progress: bool = True) -> torch.Tensor:
    """Images ``len(prompts),3,H,W`` in [0,1] generated from ``prompts`` in the style of ``style`` ``1,3,H',W'``.

    ``model_path``: local Stable Diffusion folder or a loaded :class:`DiffusionModel`. The output size is the
    style image's size rounded down to multiples of the model's ``size_multiple``. ``reference_prompt``
    describes the style image (used for its inversion and as its prompt while generating).
    ``inversion_refinements``: fixed-point passes per inversion step (see :func:`core.priors.ddim.invert`).
    """
    if not prompts:
        raise InputError("give at least one --prompt to generate")
    model = as_diffusion_model(model_path, device)
    layers = select_layers(self_attention_layers(model.unet, "all"), layers)  # fail before the inversion
    size = model.working_size(*style.shape[-2:])
    with torch.no_grad():
        latents = model.encode_images(resize_to(style, size))
    trajectory = invert(model, latents, model.encode_prompts([reference_prompt]), steps, inversion_refinements,
                        progress=progress)
    out = generate_shared(model, prompts, trajectory, reference_prompt, steps=steps, guidance_scale=guidance_scale,
                          share_scale=share_scale, layers=layers, seed=seed, progress=progress)
    return model.decode_latents(out)
