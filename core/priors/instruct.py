"""InstructPix2Pix edits (Brooks et al., CVPR 2023) on diffusers' ``StableDiffusionInstructPix2PixPipeline``, for
images, for video frames (a :class:`core.video.consistency.FrameStylizer`) and as the editor of the 3D dataset
update (:mod:`core.priors.dataset_update`).

The model is an InstructPix2Pix folder (UNet with 8 input channels: noisy latent + the photo's latent). Guidance
follows the paper: ``ε = ε(∅,∅) + s_I·(ε(c_I,∅) − ε(∅,∅)) + s_T·(ε(c_I,c_T) − ε(c_I,∅))`` with the image scale
``s_I`` (``image_guidance_scale``) and the text scale ``s_T`` (``guidance_scale``): 3 UNet rows per step.
"""

from typing import Optional, Sequence, Tuple

import torch

from core.colour import apply_affine_colour, fit_affine_colour_map, image_pixels
from core.errors import InputError
from core.priors.ddim import alpha_bar, ddim_move, ddim_timesteps
from core.priors.model import DiffusionModel, resize_to
from core.stylization import Term


def instruct_edit(model: DiffusionModel, image: torch.Tensor, instruction: str, *, steps: int = 20,
                  guidance_scale: float = 7.5, image_guidance_scale: float = 1.5, seed: int = 0,
                  progress: bool = False) -> torch.Tensor:
    """Edit ``image`` ``1,3,H,W`` in [0,1] by ``instruction``; returns float32 ``1,3,H,W`` in [0,1] on its device.

    The photo is resized to the model's multiple for the pipeline and the result back to ``H,W``. DDIM with the
    model's scheduler settings; ``seed`` fixes the noise (the same seed for every frame keeps video edits alike).
    """
    from core.priors.loading import pipeline_from

    pipe = pipeline_from(model, "StableDiffusionInstructPix2PixPipeline")
    pipe.set_progress_bar_config(disable=not progress, leave=False)
    working = resize_to(image, model.working_size(*image.shape[-2:])).to(model.device)
    out = pipe(prompt=instruction, image=working, num_inference_steps=steps, guidance_scale=guidance_scale,
               image_guidance_scale=image_guidance_scale, output_type="pt",
               generator=torch.Generator(model.device).manual_seed(int(seed))).images
    return resize_to(out.float().clamp(0.0, 1.0), tuple(image.shape[-2:])).to(image.device)


def photo_latent(model: DiffusionModel, image: torch.Tensor) -> torch.Tensor:
    """The conditioning latent of InstructPix2Pix: the VAE posterior's mode of ``image`` ``1,3,H,W`` in [0,1]
    (unscaled, as diffusers' pipeline uses it)."""
    pixels = (image * 2.0 - 1.0).to(device=model.device, dtype=model.dtype)
    return model.vae.encode(pixels).latent_dist.mode()


def ip2p_guidance(full: torch.Tensor, image_only: torch.Tensor, neither: torch.Tensor, guidance_scale: float,
                  image_guidance_scale: float) -> torch.Tensor:
    """InstructPix2Pix's two-scale guidance from the noise estimates with text+photo, photo only and neither:
    ``ε(∅,∅) + s_I·(ε(c_I,∅) − ε(∅,∅)) + s_T·(ε(c_I,c_T) − ε(c_I,∅))``."""
    return neither + image_guidance_scale * (image_only - neither) + guidance_scale * (full - image_only)


@torch.no_grad()
def ip2p_sample(model: DiffusionModel, latents: torch.Tensor, timesteps: Sequence[int], instruction: str,
                condition: torch.Tensor, guidance_scale: float = 7.5, image_guidance_scale: float = 1.5
                ) -> torch.Tensor:
    """DDIM (η = 0) from ``latents`` ``1,4,h,w`` at ``timesteps[0]`` down through ``timesteps`` to clean scaled
    latents, with InstructPix2Pix's two-scale guidance on ``condition`` (:func:`photo_latent`, ``1,4,h,w``)."""
    text = model.encode_prompts([instruction, "", ""])
    image = torch.cat([condition, condition, torch.zeros_like(condition)])
    x = latents.float()
    for t, lower in zip(timesteps, list(timesteps[1:]) + [-1]):
        rows = torch.cat([x.expand(3, -1, -1, -1).to(model.dtype), image.to(model.dtype)], dim=1)
        full, image_only, neither = model.unet(rows, t, encoder_hidden_states=text).sample.float().chunk(3)
        eps = ip2p_guidance(full, image_only, neither, guidance_scale, image_guidance_scale)
        x = ddim_move(x, eps, alpha_bar(model, t), alpha_bar(model, lower))
    return x


def instruct_edit_from(model: DiffusionModel, render: torch.Tensor, original: torch.Tensor, instruction: str, *,
                       t_range: Tuple[float, float] = (0.02, 0.98), steps: int = 20, guidance_scale: float = 7.5,
                       image_guidance_scale: float = 1.5, generator: Optional[torch.Generator] = None
                       ) -> torch.Tensor:
    """Instruct-NeRF2NeRF's edit: ``render`` ``1,3,H,W`` in [0,1] noised to a random level ``t ~ U(t_range)·T``
    and denoised conditioned on ``original`` (the training photo) and ``instruction``; returns ``1,3,H,W``.

    The DDIM schedule of ``steps`` steps is cut to its timesteps at or below ``t`` (at least one).
    """
    if not 0.0 <= t_range[0] <= t_range[1] <= 1.0:
        raise InputError(f"the edit noise range {t_range} must satisfy 0 <= low <= high <= 1")
    size = model.working_size(*original.shape[-2:])
    device = model.device
    generator = generator or torch.Generator(device).manual_seed(0)
    with torch.no_grad():
        z = model.encode_images(resize_to(render, size).to(device))
        condition = photo_latent(model, resize_to(original, size).to(device))
    train = int(model.scheduler.config.num_train_timesteps)
    low, high = t_range
    level = low + (high - low) * float(torch.rand((), generator=generator, device=device))
    timesteps = ddim_timesteps(model, steps)
    kept = [t for t in timesteps if t <= level * train] or timesteps[-1:]
    a = alpha_bar(model, kept[0])
    noise = torch.randn(z.shape, generator=generator, device=device)
    latents = ip2p_sample(model, a ** 0.5 * z + (1 - a) ** 0.5 * noise, kept, instruction, condition,
                          guidance_scale, image_guidance_scale)
    return resize_to(model.decode_latents(latents), tuple(render.shape[-2:])).to(render.device)


class InstructFrameStylizer:
    """Video frames edited by InstructPix2Pix on keyframes, propagated in between.

    Every ``keyframe_every``-th frame (counting from the first frame this object sees) is edited; the other
    frames' target is the frame itself through the affine colour map fitted from the last keyframe (original →
    edited, :func:`core.colour.fit_affine_colour_map`). With the consistency module's ``terms`` (the temporal
    term over flow-warped earlier outputs) the frame is optimised from ``init`` (the warped previous output):
    L-BFGS on ``data_weight · mean((255·(x − target))²) + Σ terms(x)``
    (:func:`core.video.stylizers.refine_pixels`), so trusted pixels follow the earlier edited frames and
    occluded ones the target.
    """

    def __init__(self, model: DiffusionModel, instruction: str, *, keyframe_every: int = 1, data_weight: float = 1.0,
                 refine_steps: int = 30, **edit_options):
        if keyframe_every < 1 or data_weight < 0:
            from core.errors import InputError

            raise InputError("--keyframe-every must be at least 1 and the data weight non-negative")
        self.model, self.instruction, self.keyframe_every = model, instruction, keyframe_every
        self.data_weight, self.refine_steps, self.edit_options = data_weight, refine_steps, edit_options
        self.frames_seen = 0
        self.keyframes = 0
        self._colour_map = None
        self._last = None  # (content, target): blend mode calls twice per frame

    def target(self, content: torch.Tensor) -> torch.Tensor:
        """The edit target of the next frame ``content`` ``1,3,H,W`` (advances the keyframe schedule)."""
        if self._last is not None and self._last[0] is content:
            return self._last[1]
        if self.frames_seen % self.keyframe_every == 0:
            edited = instruct_edit(self.model, content, self.instruction, **self.edit_options)
            self._colour_map = fit_affine_colour_map(image_pixels(content), image_pixels(edited))
            self.keyframes += 1
        else:
            edited = apply_affine_colour(content, *self._colour_map)
        self.frames_seen += 1
        self._last = (content, edited)
        return edited

    def __call__(self, content: torch.Tensor, init: Optional[torch.Tensor] = None, terms: Sequence[Term] = (),
                 steps: Optional[int] = None) -> torch.Tensor:
        from core.video.stylizers import refine_pixels

        target = self.target(content)
        if not terms:
            return target
        return refine_pixels(target, init, terms, steps or self.refine_steps, self.data_weight)
