"""Optimisation-based style transfer (Gatys et al. 2016) as a task on the stylization driver.

The image itself is the parameter: :class:`ImageTask` renders it (composited with the photo through the
optional mask), its reference is the photo, and :func:`core.stylization.stylize` optimises it against the
shared :class:`core.losses.objective.StyleObjective` (gram on ``relu1_1 … relu5_1``, content on ``relu4_2``,
both relative to their targets — see :mod:`core.losses.objective`). ``total = style_weight · style +
content_weight · content + tv_weight · TV`` plus any extra terms.

Several styles blend their Grams with weights; a mask limits where style applies; an image pyramid runs
coarse-to-fine levels (one task and one objective per level, one encoder); colour preservation keeps the
content's chrominance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from core.colour import luminance_transfer
from core.errors import InputError
from core.losses import total_variation
from core.image.gatys_config import GatysConfig
from core.losses.objective import MIN_VGG_SIDE, StyleObjective
from core.nn.vgg import load_vgg19
from core.optimize import Checkpoint
from core.stylization import StylizationResult, TaskDefaults, Term, stylize

@dataclass
class GatysResult:
    """The stylized image ``1,3,H,W`` in [0,1] and the driver's record of the finest level."""

    image: torch.Tensor
    stylization: StylizationResult

    @property
    def interrupted(self) -> bool:
        return self.stylization.interrupted

    @property
    def optimization(self):
        return self.stylization.optimization


class ImageTask(TaskDefaults):
    """One image as the parameter: ``render() = m·x + (1−m)·content`` (``m`` the mask, 1 without one).

    ``x`` ``1,3,H,W`` in [0,1] is clamped into range after each step; the reference is ``content``.
    """

    def __init__(self, start: torch.Tensor, content: torch.Tensor, mask: Optional[torch.Tensor] = None,
                 tv_weight: float = 0.0):
        self.x = start.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
        self.content, self.mask, self.tv_weight = content, mask, tv_weight

    def params(self) -> List[torch.Tensor]:
        return [self.x]

    def render(self, view=None) -> torch.Tensor:
        return self.x if self.mask is None else self.mask * self.x + (1 - self.mask) * self.content

    def reference(self, view=None) -> torch.Tensor:
        return self.content

    def view_key(self, view=None) -> str:
        return "content"

    def regularizers(self, image: torch.Tensor, view=None) -> dict:
        return {"tv": self.tv_weight * total_variation(image)} if self.tv_weight > 0 else {}

    def project(self) -> None:
        self.x.clamp_(0, 1)


def _initial_image(kind: str, content: torch.Tensor, styles: List[torch.Tensor], seed: int) -> torch.Tensor:
    if kind == "content":
        return content.clone()
    if kind == "noise":
        generator = torch.Generator(device="cpu").manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content)
    return F.interpolate(styles[0], size=content.shape[-2:], mode="bilinear", align_corners=False).clamp(0, 1)


def _resize(image: Optional[torch.Tensor], size: tuple) -> Optional[torch.Tensor]:
    if image is None or image.shape[-2:] == size:
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def stylize_gatys(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: Optional[GatysConfig] = None,
    blend: Optional[Sequence[float]] = None,
    mask: Optional[torch.Tensor] = None,
    init_image: Optional[torch.Tensor] = None,
    terms: Sequence[Term] = (),
    checkpoint: Optional[Checkpoint] = None,
    resume: bool = False,
    progress: bool = True,
    encoder=None,
) -> GatysResult:
    """Stylize ``content`` (``1,3,H,W`` in [0,1], already at the output size) with ``styles`` (``1,3,h,w`` each).

    ``blend``: one weight per style (default equal). ``mask``: ``1,1,H,W`` in [0,1]; style applies where it is 1
    and the content is kept where it is 0. ``init_image`` overrides ``config.init`` (the video path starts from
    the warped previous frame). ``terms`` add extra losses (e.g. the temporal loss) on the current image.
    ``encoder``: a VGG19 to reuse (frames of a video). Returns the best image seen.
    """
    config = config or GatysConfig()
    config.validate()
    if not styles:
        raise InputError("at least one style image is needed")
    if mask is not None and mask.shape[-2:] != content.shape[-2:]:
        raise InputError(f"mask size {tuple(mask.shape[-2:])} does not match the content size {tuple(content.shape[-2:])}")
    if min(content.shape[-2:]) < MIN_VGG_SIDE:
        raise InputError(f"the output would be {content.shape[-1]}x{content.shape[-2]} px; its short side needs at "
                         f"least {MIN_VGG_SIDE} px: raise --size")
    device = content.device
    styles = [s.to(device) for s in styles]
    encoder = encoder if encoder is not None else load_vgg19(device, pooling=config.pooling)
    full_h, full_w = content.shape[-2:]
    resume_level = _checkpoint_level(checkpoint, config.levels) if (resume and checkpoint is not None) else 0
    image = init_image.to(device) if init_image is not None else _initial_image(config.init, content, styles, config.seed)
    result = None
    for level in range(resume_level, config.levels):
        factor = 2 ** (config.levels - 1 - level)
        size = (max(MIN_VGG_SIDE, full_h // factor), max(MIN_VGG_SIDE, full_w // factor))
        level_mask = _resize(None if mask is None else mask.to(device), size)
        task = ImageTask(_resize(image, size), _resize(content, size), level_mask, config.tv_weight)
        objective = StyleObjective(config.loss, device, encoder).set_style(styles, max(size), blend, level_mask)
        level_checkpoint = None if checkpoint is None else Checkpoint(
            checkpoint.path, checkpoint.every, {**checkpoint.meta, "level": level})
        desc = f"gatys {size[1]}x{size[0]}" + (f" (level {level + 1}/{config.levels})" if config.levels > 1 else "")
        result = stylize(task, objective, config.loop, terms, checkpoint=level_checkpoint,
                         resume=resume and level == resume_level, progress=progress, desc=desc, seed=config.seed)
        image = task.render().detach()
        if result.interrupted:
            break
    if config.preserve_color:
        image = luminance_transfer(image, content)
    return GatysResult(image=image.clamp(0, 1), stylization=result)


def _checkpoint_level(checkpoint: Checkpoint, levels: int) -> int:
    """The pyramid level (``0..levels-1``) a saved checkpoint belongs to (0 when there is none)."""
    state = checkpoint.read()
    level = 0 if state is None else state["meta"].get("level", 0)
    if not (isinstance(level, int) and 0 <= level < levels):
        raise InputError(f"checkpoint {checkpoint.path} is for pyramid level {str(level)[:20]}, not one of the "
                         f"{levels} levels of this job; delete it to start over")
    return level

