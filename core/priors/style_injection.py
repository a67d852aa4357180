"""StyleID-like training-free style injection (Chung et al., "Style Injection in Diffusion", CVPR 2024).

1. DDIM-invert the content and style latents, recording in chosen decoder self-attention layers the content's
   queries and the style's keys and values at every timestep.
2. Start from the content's inverted noise latent renormalised to the style's per-channel statistics (AdaIN).
3. Sample with DDIM; in the chosen layers attention uses q̂ = γ·q_content + (1−γ)·q_stylized with the style's
   keys and values and logits multiplied by the temperature T (T > 1 sharpens attention).

The prompt is empty and there is no classifier-free guidance. Memory: the cache holds, per timestep and chosen
layer, ``heads × tokens × head_dim`` values for q (content) and for k and v (style). For SD 1.5 at 512² with the
default five layers that is about 15.7 M values per timestep, ≈ 1.6 GB in float16 for 50 steps (computed from the
layer shapes, not measured here).
"""

from typing import Dict, List, Optional, Sequence, Tuple

import torch

from core.priors.attention import LayerSpec, SelfAttention, StepClock, attend, installed_processors, \
    match_statistics, select_layers, self_attention_layers
from core.priors.ddim import invert, sample
from core.priors.loading import as_diffusion_model
from core.priors.model import DiffusionModel, resize_to

STYLEID_LAYER_COUNT = 5
"""Default: the last five decoder self-attention layers (StyleID's choice on SD 1.x: up_blocks 2–3)."""


class AttentionCache:
    """Recorded attention tensors: ``entries[(layer, timestep)][name]`` with ``name`` in q/k/v, each ``B,heads,L,d``."""

    def __init__(self):
        self.entries: Dict[Tuple[str, int], Dict[str, torch.Tensor]] = {}

    def store(self, layer: str, timestep: int, **tensors: torch.Tensor) -> None:
        self.entries.setdefault((layer, timestep), {}).update(tensors)

    def get(self, layer: str, timestep: int, name: str) -> torch.Tensor:
        return self.entries[(layer, timestep)][name]

    @property
    def layers(self) -> List[str]:
        return list(dict.fromkeys(layer for layer, _ in self.entries))

    @property
    def timesteps(self) -> List[int]:
        return list(dict.fromkeys(t for _, t in self.entries))


class RecordingProcessor(SelfAttention):
    """Plain self-attention that also stores the tensors named in ``keep`` (subset of q/k/v) per timestep."""

    def __init__(self, layer: str, clock: StepClock, cache: AttentionCache, keep: Sequence[str]):
        self.layer, self.clock, self.cache, self.keep = layer, clock, cache, tuple(keep)

    def compute(self, attn, q, k, v, residual):
        tensors = {"q": q, "k": k, "v": v}
        self.cache.store(self.layer, self.clock.timestep, **{name: tensors[name] for name in self.keep})
        return attend(attn, q, k, v, residual)


class InjectionProcessor(SelfAttention):
    """Self-attention with the content's blended queries and the style's keys/values at the current timestep."""

    def __init__(self, layer: str, clock: StepClock, content: AttentionCache, style: AttentionCache,
                 gamma: float, temperature: float):
        self.layer, self.clock, self.content, self.style = layer, clock, content, style
        self.gamma, self.temperature = gamma, temperature

    def compute(self, attn, q, k, v, residual):
        t = self.clock.timestep
        q_mix = injected_query(self.content.get(self.layer, t, "q"), q, self.gamma)
        return attend(attn, q_mix, self.style.get(self.layer, t, "k"), self.style.get(self.layer, t, "v"), residual,
                      logit_scale=self.temperature)


def injected_query(q_content: torch.Tensor, q: torch.Tensor, gamma: float) -> torch.Tensor:
    """StyleID's query blend ``γ·q_content + (1−γ)·q`` (any matching shapes, e.g. ``B,heads,L,d``)."""
    return gamma * q_content + (1.0 - gamma) * q


def record_inversion(model: DiffusionModel, latents: torch.Tensor, cond: torch.Tensor, steps: int,
                     layers: Sequence[str], keep: Sequence[str], refinements: int = 0, progress: bool = False
                     ) -> Tuple[List[torch.Tensor], AttentionCache]:
    """DDIM inversion of ``latents`` recording ``keep`` (q/k/v) in ``layers``; returns (trajectory, cache).

    With ``refinements`` the cache keeps the last evaluation of each timestep (the refined one).
    """
    clock, cache = StepClock(), AttentionCache()
    processors = {name: RecordingProcessor(name, clock, cache, keep) for name in layers}
    with installed_processors(model.unet, processors):
        trajectory = invert(model, latents, cond, steps, refinements, on_step=clock.set, progress=progress)
    return trajectory, cache


def styleid_latents(model: DiffusionModel, content: torch.Tensor, style: torch.Tensor, *, gamma: float = 0.75,
                    temperature: float = 1.5, steps: int = 50, layers: LayerSpec = None, adain_init: bool = True,
                    inject: bool = True, inversion_refinements: int = 0, progress: bool = False) -> torch.Tensor:
    """Style-injected latents from clean scaled content/style latents ``1,C,h,w`` (same size); returns ``1,C,h,w``.

    ``layers``: indices/names among the decoder's self-attention layers (default: the last five).
    ``inject=False`` samples plainly from the (AdaIN-)initial latent, the paper's no-injection ablation.
    ``inversion_refinements``: fixed-point passes per inversion step (see :func:`core.priors.ddim.invert`).
    """
    cond = model.encode_prompts([""])
    chosen = select_layers(self_attention_layers(model.unet, "decoder"), layers, STYLEID_LAYER_COUNT)
    recorded = chosen if inject else []
    content_traj, content_cache = record_inversion(model, content, cond, steps, recorded, ("q",),
                                                   inversion_refinements, progress)
    style_traj, style_cache = record_inversion(model, style, cond, steps, recorded, ("k", "v"),
                                               inversion_refinements, progress)
    start = match_statistics(content_traj[0], style_traj[0], dims=(2, 3)) if adain_init else content_traj[0]
    if not inject:
        return sample(model, start, cond, steps, progress=progress)
    clock = StepClock()
    processors = {name: InjectionProcessor(name, clock, content_cache, style_cache, gamma, temperature)
                  for name in chosen}
    with installed_processors(model.unet, processors):
        return sample(model, start, cond, steps, on_step=clock.set, progress=progress)


def stylize_styleid(content: torch.Tensor, style: torch.Tensor, model_path, *, gamma: float = 0.75,
                    temperature: float = 1.5, steps: int = 50, layers: LayerSpec = None, adain_init: bool = True,
                    seed: Optional[int] = 0, inversion_refinements: int = 0, device="cpu",
                    progress: bool = True) -> torch.Tensor:
    """Stylize ``content`` ``1,3,H,W`` in [0,1] with ``style`` ``1,3,H',W'`` by StyleID-like attention injection.

    ``model_path``: local Stable Diffusion folder (diffusers layout) or a loaded :class:`DiffusionModel`.
    Both images are resized to the content's size rounded down to multiples of the model's ``size_multiple``
    (64 for SD); the result is resized back and returned as float32 ``1,3,H,W`` in [0,1] on ``content.device``.
    ``seed`` seeds the draw from the VAE posterior (None: use the posterior mean); everything else is
    deterministic (DDIM with η = 0). ``inversion_refinements``: fixed-point passes per inversion step (0 as in
    StyleID; each costs one more UNet evaluation per step and image).
    """
    def run(model, latents_c, latents_s):
        return styleid_latents(model, latents_c, latents_s, gamma=gamma, temperature=temperature, steps=steps,
                               layers=layers, adain_init=adain_init, inversion_refinements=inversion_refinements,
                               progress=progress)

    return latent_transfer(content, style, model_path, run, seed=seed, device=device)


def latent_transfer(content: torch.Tensor, style: torch.Tensor, model_path, latents_fn, seed: Optional[int] = 0,
                    device="cpu") -> torch.Tensor:
    """The shared frame of the latent-space transfers (StyleID, Z-Star): encode ``content`` and ``style`` at the
    content's size rounded down to the model's multiple, ``latents_fn(model, latents_c, latents_s)``, decode,
    resize back; returns float32 ``1,3,H,W`` in [0,1] on ``content.device``. ``seed``: the VAE posterior draw
    (None: its mean)."""
    model = as_diffusion_model(model_path, device)
    size = model.working_size(*content.shape[-2:])
    generator = None if seed is None else torch.Generator(model.device).manual_seed(int(seed))
    with torch.no_grad():
        latents_c = model.encode_images(resize_to(content, size), generator)
        latents_s = model.encode_images(resize_to(style, size), generator)
    image = model.decode_latents(latents_fn(model, latents_c, latents_s))
    return resize_to(image, tuple(content.shape[-2:])).to(content.device)
