"""Style tokens learned from one painting: InST-style textual inversion and ProSpect per-stage tokens.

- **InST** (Zhang et al., "Inversion-Based Style Transfer with Diffusion Models", CVPR 2023) learns one text
  embedding from a single painting and then generates or transfers with it. InST maps the painting to that
  embedding with an attention module over CLIP *image* features; a Stable Diffusion folder ships no CLIP image
  encoder, so this is **plain textual inversion** (Gal et al. 2022): one new token whose embedding alone is
  optimised with the denoising loss on the painting, the prompt being the token itself (InST's "*").
- **ProSpect** (Zhang et al., SIGGRAPH Asia 2023) learns one token per denoising stage: the training timesteps
  ``0…T−1`` are cut into ``n`` equal stages, stage 1 holding the noisiest (``t ≥ T − T/n``, sampled first: layout)
  and stage ``n`` the cleanest (``t < T/n``: material, texture). At sampling time the chosen stages are
  conditioned on the prompt plus the reference's stage token, the others on the plain prompt.

Tokens are saved in diffusers' textual-inversion format (a safetensors file with one key, the token, holding
``n,D`` vectors), so ``pipe.load_textual_inversion(file)`` loads them (a per-stage file loads there as one
``n``-vector token ``<style> <style>_1 …``, i.e. all stages at once). Generation and transfer run diffusers'
own ``StableDiffusionPipeline`` / ``StableDiffusionImg2ImgPipeline``; per-stage conditioning swaps the UNet's
``encoder_hidden_states`` per timestep with a forward pre-hook (:func:`stage_conditioning`).
"""

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence

import torch
import torch.nn.functional as F

from core.atomic import atomic_output
from core.errors import InputError
from core.optimize import Checkpoint, OptimizeResult, optimize
from core.priors.model import DiffusionModel, resize_to

DEFAULT_TOKEN = "<style>"
FORMAT = "diffusers textual inversion"


@dataclass
class StyleTokens:
    """Learned embeddings: ``vectors`` float32 ``n,D`` (n = 1 for InST, n stages for ProSpect) for ``token``."""

    token: str
    vectors: torch.Tensor

    @property
    def stages(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def names(self) -> List[str]:
        """One token per vector, named as diffusers names multi-vector tokens: ``<style>, <style>_1, …``."""
        return [self.token] + [f"{self.token}_{i}" for i in range(1, self.stages)]

    def stage_of(self, timestep: int, train_timesteps: int) -> int:
        """0-based stage of ``timestep`` in ``0…train_timesteps−1`` (stage 0 = the noisiest tenth for n = 10)."""
        t = min(max(int(timestep), 0), train_timesteps - 1)
        return (train_timesteps - 1 - t) * self.stages // train_timesteps

    def save(self, path: "str | Path") -> None:
        """Write ``{token: vectors}`` as safetensors (diffusers' format), atomically."""
        from safetensors.torch import save_file

        with atomic_output(path) as tmp:
            save_file({self.token: self.vectors.detach().float().cpu().contiguous()}, str(tmp),
                      metadata={"format": FORMAT, "stages": str(self.stages)})

    @classmethod
    def load(cls, path: "str | Path") -> "StyleTokens":
        """Read a file written by :meth:`save` (or any one-token diffusers embedding); :class:`InputError` if not."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if not Path(path).is_file():
            raise InputError(f"style token file {path} does not exist")
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError(f"style token file {path} is not a safetensors file ({exc})") from None
        if len(state) != 1:
            raise InputError(f"style token file {path} holds {len(state)} tensors; a textual-inversion file holds "
                             f"one (the token's embedding)")
        token, vectors = next(iter(state.items()))
        vectors = vectors.float().reshape(-1, vectors.shape[-1])
        return cls(token, vectors)


class TokenEmbedding(torch.nn.Module):
    """The text encoder's token embedding extended by rows for added token ids.

    ``ids`` ``LongTensor`` of the added tokens (any ids ≥ the base table size), ``vectors`` ``n,D`` (may require
    grad; cast to the base table's dtype). Input ``B,L`` ids → ``B,L,D`` embeddings.
    """

    def __init__(self, base: torch.nn.Embedding, ids: Sequence[int], vectors: torch.Tensor):
        super().__init__()
        self.base, self.vectors = base, vectors
        rows = torch.full((max(ids) + 1,), -1, dtype=torch.long)
        rows[torch.tensor(list(ids))] = torch.arange(len(ids))
        self.register_buffer("rows", rows.to(base.weight.device), persistent=False)

    @property
    def weight(self) -> torch.Tensor:
        return self.base.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        size = self.base.num_embeddings
        added = ids >= size
        out = self.base(ids.masked_fill(added, 0))
        if not added.any():
            return out
        rows = self.rows[ids.clamp(max=len(self.rows) - 1)]
        if ((ids >= len(self.rows)) | (rows < 0))[added].any():
            raise InputError("the prompt uses an added token that has no learned vector here")
        extra = self.vectors.to(out.dtype)[rows.clamp(min=0)]
        return torch.where(added[..., None], extra, out)


@contextlib.contextmanager
def token_embeddings(model: DiffusionModel, names: Sequence[str], vectors: torch.Tensor) -> Iterator[List[int]]:
    """Within the block prompts may contain ``names``, embedded as the rows of ``vectors`` ``n,D``; yields their ids.

    The tokenizer keeps the added names afterwards (prompts without them tokenize as before); the text encoder's
    embedding is restored.
    """
    vocab = model.tokenizer.get_vocab()
    model.tokenizer.add_tokens([name for name in names if name not in vocab])
    ids = model.tokenizer.convert_tokens_to_ids(list(names))
    base = model.text_encoder.get_input_embeddings()
    if min(ids) < base.num_embeddings:
        raise InputError(f"token {names[0]!r} is already a word of the model's vocabulary; choose another --token")
    model.text_encoder.set_input_embeddings(TokenEmbedding(base, ids, vectors))
    try:
        yield ids
    finally:
        model.text_encoder.set_input_embeddings(base)


def with_token(prompt: str, token: str) -> str:
    """``prompt`` with ``{}`` replaced by ``token``; without ``{}``: ``"PROMPT in the style of TOKEN"``
    (the token alone for an empty prompt)."""
    if "{}" in prompt:
        return prompt.replace("{}", token)
    return f"{prompt} in the style of {token}" if prompt.strip() else token


def parse_stages(text: Optional[str], count: int) -> List[int]:
    """``"6-10"`` / ``"1,3,5-7"`` (1-based, inclusive) → sorted 0-based stage indices; None → all ``count``."""
    if text is None or not text.strip():
        return list(range(count))
    chosen = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            first, last = int(lo), int(hi or lo)
            if not 1 <= first <= last <= count:
                raise ValueError
            chosen.update(range(first - 1, last))
    except ValueError:
        raise InputError(f"--stages {text!r}: give 1-based stages or ranges within 1-{count}, e.g. 6-10") from None
    return sorted(chosen)


def denoising_loss(model: DiffusionModel, latents: torch.Tensor, tokens: StyleTokens, timesteps: torch.Tensor,
                   noise: torch.Tensor) -> torch.Tensor:
    """Textual-inversion loss ``mean ‖ε̂(z_t, t, token_stage(t)) − ε‖²`` for clean scaled latents ``1,C,h,w``.

    ``timesteps`` ``B`` (long), ``noise`` ``B,C,h,w``; call inside :func:`token_embeddings` for ``tokens``.
    Differentiable with respect to the token vectors.
    """
    train = int(model.scheduler.config.num_train_timesteps)
    a = model.scheduler.alphas_cumprod.to(model.device)[timesteps].float().view(-1, 1, 1, 1)
    noisy = a.sqrt() * latents + (1 - a).sqrt() * noise
    prompts = [tokens.names[tokens.stage_of(int(t), train)] for t in timesteps]
    cond = model.text_embeddings(prompts)
    eps = model.unet(noisy.to(model.dtype), timesteps.to(model.device), encoder_hidden_states=cond).sample.float()
    return F.mse_loss(eps, noise)


@dataclass
class LearnConfig:
    """Settings of :func:`learn_style_tokens`."""

    steps: int = 1000
    lr: float = 5e-3
    batch: int = 1
    stages: int = 1
    token: str = DEFAULT_TOKEN
    init_word: str = "painting"

    def validate(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.lr <= 0:
            raise InputError("--steps and --batch must be at least 1 and --lr positive")
        if not 1 <= self.stages <= 1000:
            raise InputError(f"--per-stage {self.stages}: use 1 (one InST token) up to 1000 stages (ProSpect: 10)")
        if not self.token.strip() or " " in self.token:
            raise InputError(f"--token {self.token!r} must be one word without spaces, e.g. <style>")


def initial_vector(model: DiffusionModel, word: str) -> torch.Tensor:
    """Mean embedding ``D`` (float32) of ``word``'s tokens (without start/end tokens)."""
    ids = model.tokenizer(word, add_special_tokens=False).input_ids
    if not ids:
        raise InputError(f"--init-word {word!r} has no tokens in the model's vocabulary")
    table = model.text_encoder.get_input_embeddings().weight
    return table[torch.tensor(ids, device=table.device)].float().mean(0)


def learn_style_tokens(model: DiffusionModel, painting: torch.Tensor, config: LearnConfig, *, seed: int = 0,
                       checkpoint: Optional[Checkpoint] = None, resume: bool = False, progress: bool = True,
                       ) -> "tuple[StyleTokens, OptimizeResult]":
    """Learn ``config.stages`` token vectors from ``painting`` ``1,3,H,W`` in [0,1] (resized to the model's
    multiple); each step draws ``config.batch`` timesteps uniformly and fresh noise (Adam, last iterate kept).
    Returns the tokens (float32 on the CPU) and the optimisation record.
    """
    config.validate()
    size = model.working_size(*painting.shape[-2:])
    with torch.no_grad():
        latents = model.encode_images(resize_to(painting.to(model.device), size))
    vectors = initial_vector(model, config.init_word).repeat(config.stages, 1).requires_grad_(True)
    tokens = StyleTokens(config.token, vectors)
    train = int(model.scheduler.config.num_train_timesteps)
    generator = torch.Generator(model.device).manual_seed(int(seed))

    def loss_fn():
        t = torch.randint(0, train, (config.batch,), generator=generator, device=model.device)
        noise = torch.randn((config.batch, *latents.shape[1:]), generator=generator, device=model.device)
        return {"total": denoising_loss(model, latents, tokens, t, noise)}

    with token_embeddings(model, tokens.names, vectors):
        result = optimize([vectors], loss_fn, config.steps, optimizer="adam", lr=config.lr, keep="last",
                          generator=generator, checkpoint=checkpoint, resume=resume, progress=progress,
                          desc="learning style token")
    return StyleTokens(config.token, vectors.detach().float().cpu()), result


PLACEHOLDER = 1024.0
"""Value of the placeholder prompt embedding :func:`stage_conditioning` recognises (exact in float16)."""


def heldout_loss(model: DiffusionModel, painting: torch.Tensor, config: LearnConfig, tokens: StyleTokens,
                 count: int = 16, seed: int = 1234) -> "tuple[float, float]":
    """:func:`denoising_loss` on ``count`` fixed (t, ε) draws for the initial and the learned vectors."""
    with torch.no_grad():
        latents = model.encode_images(resize_to(painting.to(model.device), model.working_size(*painting.shape[-2:])))
        generator = torch.Generator(model.device).manual_seed(seed)
        train = int(model.scheduler.config.num_train_timesteps)
        t = torch.randint(0, train, (count,), generator=generator, device=model.device)
        noise = torch.randn((count, *latents.shape[1:]), generator=generator, device=model.device)
        start = StyleTokens(tokens.token, initial_vector(model, config.init_word).repeat(tokens.stages, 1))
        losses = []
        for candidate in (start, tokens):
            vectors = candidate.vectors.to(model.device)
            with token_embeddings(model, candidate.names, vectors):
                losses.append(float(denoising_loss(model, latents, candidate, t, noise)))
    return losses[0], losses[1]


@contextlib.contextmanager
def stage_conditioning(model: DiffusionModel, embeddings: Callable[[int], torch.Tensor]) -> Iterator[torch.Tensor]:
    """Per-timestep text conditioning for a diffusers pipeline; yields a placeholder ``1,L,D`` to pass as its
    ``prompt_embeds``.

    While the block runs, every UNet call replaces the rows of its ``encoder_hidden_states`` that hold the
    placeholder by ``embeddings(t)`` ``1,L,D`` for the call's timestep ``t``; the other rows (negative prompts,
    in whatever order the pipeline batches them) stay. Installed as the UNet's first forward pre-hook.
    """
    length = int(model.tokenizer.model_max_length)
    width = int(model.text_encoder.config.hidden_size)
    placeholder = torch.full((1, length, width), PLACEHOLDER, dtype=model.dtype, device=model.device)

    def hook(module, args, kwargs):
        names = ("sample", "timestep", "encoder_hidden_states")
        values = {name: kwargs[name] if name in kwargs else args[i] for i, name in enumerate(names)
                  if name in kwargs or i < len(args)}
        t, states = values["timestep"], values["encoder_hidden_states"]
        t = int(t.flatten()[0]) if torch.is_tensor(t) else int(t)
        marked = (states == PLACEHOLDER).flatten(1).all(1)
        states = states.clone()
        states[marked] = embeddings(t).to(states)
        if "encoder_hidden_states" in kwargs:
            return args, {**kwargs, "encoder_hidden_states": states}
        return (*args[:2], states, *args[3:]), kwargs

    handle = model.unet.register_forward_pre_hook(hook, with_kwargs=True, prepend=True)
    try:
        yield placeholder
    finally:
        handle.remove()


def stage_prompts(tokens: StyleTokens, prompt: str, chosen: Sequence[int]) -> List[str]:
    """Per stage: the prompt with that stage's token (:func:`with_token`) where chosen, elsewhere the plain prompt
    (its ``{}`` removed)."""
    plain = " ".join(prompt.replace("{}", " ").split())
    return [with_token(prompt, name) if k in chosen else plain for k, name in enumerate(tokens.names)]


def sample_with_tokens(model: DiffusionModel, tokens: StyleTokens, prompt: str = "", *,
                       stages: Optional[Sequence[int]] = None, image: Optional[torch.Tensor] = None,
                       strength: float = 0.6, size: "tuple[int, int] | None" = None, count: int = 1,
                       steps: int = 50, guidance_scale: float = 7.5, negative_prompt: str = "", seed: int = 0,
                       progress: bool = True) -> torch.Tensor:
    """Images ``count,3,H,W`` in [0,1] from diffusers' pipelines conditioned on the learned tokens.

    ``image`` ``1,3,H,W`` in [0,1]: img2img (``StableDiffusionImg2ImgPipeline``, noised to ``strength``, sides
    rounded down to the model's multiple); otherwise text-to-image (``StableDiffusionPipeline``) at ``size``.
    ``stages``: 0-based stages that take the tokens (default all; ProSpect's choice of stages), the others see
    the plain ``prompt``. DDIM with the model's scheduler settings; ``seed`` fixes the noise.
    """
    from core.priors.loading import pipeline_from

    chosen = list(range(tokens.stages)) if stages is None else list(stages)
    train = int(model.scheduler.config.num_train_timesteps)
    with token_embeddings(model, tokens.names, tokens.vectors.to(model.device)):
        per_stage = [model.encode_prompts([text]) for text in stage_prompts(tokens, prompt, chosen)]
    negative = model.encode_prompts([negative_prompt])
    kwargs = dict(num_inference_steps=steps, guidance_scale=guidance_scale, num_images_per_prompt=count,
                  generator=torch.Generator(model.device).manual_seed(int(seed)), output_type="pt")
    if image is not None:
        kwargs.update(image=resize_to(image, model.working_size(*image.shape[-2:])).to(model.device),
                      strength=strength)
        pipe = pipeline_from(model, "StableDiffusionImg2ImgPipeline")
    else:
        height, width = model.working_size(*(size or (512, 512)))
        kwargs.update(height=height, width=width)
        pipe = pipeline_from(model, "StableDiffusionPipeline")
    pipe.set_progress_bar_config(disable=not progress, leave=False)
    with stage_conditioning(model, lambda t: per_stage[tokens.stage_of(t, train)]) as placeholder:
        images = pipe(prompt_embeds=placeholder, negative_prompt_embeds=negative, **kwargs).images
    return images.float().clamp(0.0, 1.0)
