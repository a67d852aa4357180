"""The two edits the video diffusion pipeline (:mod:`core.priors.video_diffusion`) drives, as one interface.

An edit says how frames become latents, how they are DDIM-inverted, where editing starts, and how one UNet call
over ``[extra rows][source rows][edit rows × groups]`` (:class:`core.priors.extended_attention.RowLayout`) gives
the edit rows' noise estimates:

* :class:`StyleEdit` — a style image through StyleID's injection (:mod:`core.priors.style_injection`): empty
  prompt, no guidance (``groups = 1``); the extra row is the style image's inverted latent at the current step,
  whose keys/values the injection layers use; editing starts from the frames' inverted noise renormalised to the
  style's (AdaIN).
* :class:`InstructEdit` — an InstructPix2Pix instruction (:mod:`core.priors.instruct`): three guidance rows per
  frame (``groups = 3``: text+photo, photo only, neither), no extra row; frames are inverted under their own photo
  conditioning and the empty prompt, and editing starts from that inverted noise.

Latents are scaled ``N,4,h,w`` float32; images ``N,3,H,W`` in [0,1] at the model's working size.
"""

import dataclasses
from typing import List, Optional, Protocol

import torch

from core.priors.attention import match_statistics
from core.priors.ddim import invert, predict_noise
from core.priors.instruct import ip2p_guidance, photo_latent
from core.priors.model import DiffusionModel


class VideoEdit(Protocol):
    """See the module docstring."""

    model: DiffusionModel
    groups: int
    extra: int

    def condition(self, images: torch.Tensor) -> Optional[torch.Tensor]: ...

    def invert(self, latents: torch.Tensor, condition: Optional[torch.Tensor], steps: int) -> List[torch.Tensor]: ...

    def start(self, noise: torch.Tensor) -> torch.Tensor: ...

    def noise(self, step: int, t: int, source: torch.Tensor, edit: torch.Tensor, condition: Optional[torch.Tensor],
              extra: bool) -> torch.Tensor: ...


class StyleEdit:
    """StyleID-like injection of ``style`` ``1,3,H,W`` (working size); the style is inverted once, here."""

    groups = 1
    extra = 1

    def __init__(self, model: DiffusionModel, style: torch.Tensor, steps: int, adain_init: bool = True):
        self.model, self.adain_init = model, adain_init
        self.prompt = model.encode_prompts([""])
        with torch.no_grad():
            self.style_trajectory = invert(model, model.encode_images(style.to(model.device)), self.prompt, steps)

    def condition(self, images: torch.Tensor) -> None:
        return None

    def invert(self, latents, condition, steps):
        return invert(self.model, latents, self.prompt, steps)

    def start(self, noise):
        return match_statistics(noise, self.style_trajectory[0], dims=(2, 3)) if self.adain_init else noise

    def noise(self, step, t, source, edit, condition, extra):
        rows = [self.style_trajectory[step]] if extra else []
        eps = predict_noise(self.model, torch.cat(rows + [source, edit]), t, self.prompt)
        return eps[-edit.shape[0]:]


class PhotoConditionedUNet(torch.nn.Module):
    """An InstructPix2Pix UNet seen as a 4-channel one: ``forward(x, t, encoder_hidden_states)`` runs the UNet on
    ``[x, photo]`` (channels concatenated; ``photo`` the unscaled photo latents ``N,4,h,w``), for DDIM inversion."""

    def __init__(self, unet: torch.nn.Module, photo: torch.Tensor):
        super().__init__()
        self.unet, self.photo = unet, photo

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(torch.cat([sample, self.photo.to(sample.dtype)], dim=1), timestep,
                         encoder_hidden_states=encoder_hidden_states)


@dataclasses.dataclass
class InstructEdit:
    """InstructPix2Pix edit by ``instruction`` with text scale ``guidance_scale`` and image scale
    ``image_guidance_scale``."""

    model: DiffusionModel
    instruction: str
    guidance_scale: float = 7.5
    image_guidance_scale: float = 1.5
    groups = 3
    extra = 0

    def __post_init__(self):
        self.empty, self.text = self.model.encode_prompts([""]), self.model.encode_prompts([self.instruction])

    @torch.no_grad()
    def condition(self, images):
        return photo_latent(self.model, images)

    def invert(self, latents, condition, steps):
        conditioned = dataclasses.replace(self.model, unet=PhotoConditionedUNet(self.model.unet, condition))
        return invert(conditioned, latents, self.empty, steps)

    def start(self, noise):
        return noise

    def noise(self, step, t, source, edit, condition, extra):
        model, count = self.model, edit.shape[0]
        latents = torch.cat([source, edit, edit, edit])
        photos = torch.cat([condition, condition, condition, torch.zeros_like(condition)])
        text = torch.cat([self.empty.expand(count, -1, -1), self.text.expand(count, -1, -1),
                          self.empty.expand(2 * count, -1, -1)])
        rows = torch.cat([latents.to(model.dtype), photos.to(model.dtype)], dim=1)
        eps = model.unet(rows, t, encoder_hidden_states=text).sample.float()
        _, full, image_only, neither = eps.chunk(4)
        return ip2p_guidance(full, image_only, neither, self.guidance_scale, self.image_guidance_scale)
