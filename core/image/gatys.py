"""Optimisation-based style transfer (Gatys et al. 2016) with the controls artists ask for.

The raw VGG19 (Caffe weights, not rescaled as in Gatys' paper) has activations whose Gram magnitudes differ by
five orders of magnitude between layers, so each term is made relative to its target:

* content term: ``MSE(F_4_2(x), F_4_2(c)) / mean(F_4_2(c)²)``;
* style term: ``(1/L) Σ_l ‖G_l(x) − A_l‖² / ‖A_l‖²`` over ``relu1_1 … relu5_1`` with normalised Grams
  ``G = F Fᵀ / (H·W)`` (:mod:`core.losses.gram`), i.e. every layer contributes its relative Gram error.

``total = style_weight · style + content_weight · content + tv_weight · TV``.
Several styles blend their Grams with weights; a mask limits where style applies; an image pyramid
runs coarse-to-fine levels; colour preservation keeps the content's chrominance.
"""

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from core.colour import luminance_transfer
from core.errors import InputError
from core.io.images import resize_long_side
from core.losses import blend_grams, content_loss, gram_matrix, gram_style_loss, total_variation
from core.nn.vgg import load_vgg19
from core.optimize import Checkpoint, OptimizeResult, optimize

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
INITS = ("content", "noise", "style")
MIN_VGG_SIDE = 16
"""relu5_1 sits behind four 2× poolings: images need at least 16 px on their short side."""


@dataclass
class GatysConfig:
    """Settings of :func:`stylize_gatys`. Weights multiply the loss terms documented in the module docstring."""

    steps: int = 300
    style_weight: float = 30.0
    content_weight: float = 1.0
    tv_weight: float = 0.0
    optimizer: str = "lbfgs"
    lr: Optional[float] = None
    """Learning rate; None picks 1.0 for L-BFGS and 0.02 for Adam."""
    init: str = "content"
    levels: int = 1
    """Pyramid levels; level k (from the coarsest) works at ``size / 2**(levels-1-k)``."""
    style_scale: float = 1.0
    """Style images are resized to ``style_scale ×`` the working long side before their Grams are taken."""
    preserve_color: bool = False
    seed: int = 0
    pooling: str = "max"
    style_layers: Sequence[str] = STYLE_LAYERS
    content_layer: str = CONTENT_LAYER

    def validate(self) -> None:
        if self.init not in INITS:
            raise InputError(f"unknown --init {self.init!r}; choose from {', '.join(INITS)}")
        if self.steps < 0 or self.levels < 1:
            raise InputError("--steps must be >= 0 and --levels >= 1")
        if not 0.05 <= self.style_scale <= 8:
            raise InputError(f"--style-scale {self.style_scale} is out of range; use a value in [0.05, 8]")
        for name in ("style_weight", "content_weight", "tv_weight"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name.replace('_', '-')} must be >= 0")


@dataclass
class GatysResult:
    """The stylized image ``1,3,H,W`` in [0,1] and the optimisation record of the finest level."""

    image: torch.Tensor
    optimization: OptimizeResult
    style_loss_initial: float
    style_loss_final: float
    content_loss_final: float
    interrupted: bool


ExtraLoss = Callable[[torch.Tensor], Dict[str, torch.Tensor]]
"""Optional hook: image ``1,3,H,W`` → extra weighted loss terms added to the total (e.g. a temporal loss)."""


def _initial_image(kind: str, content: torch.Tensor, styles: List[torch.Tensor], seed: int) -> torch.Tensor:
    if kind == "content":
        return content.clone()
    if kind == "noise":
        generator = torch.Generator(device="cpu").manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content)
    return F.interpolate(styles[0], size=content.shape[-2:], mode="bilinear", align_corners=False).clamp(0, 1)


def style_grams(encoder, styles: Sequence[torch.Tensor], layers: Sequence[str], long_side: int,
                style_scale: float, blend: Optional[Sequence[float]]) -> dict:
    """Blended normalised Gram targets of ``styles`` (each ``1,3,h,w``) resized to ``style_scale × long_side``."""
    grams = []
    with torch.no_grad():
        for style in styles:
            h, w = style.shape[-2:]
            shortest_allowed = math.ceil(MIN_VGG_SIDE * max(h, w) / min(h, w))
            scaled = resize_long_side(style, max(shortest_allowed, round(long_side * style_scale)))
            feats = encoder(scaled, layers)
            grams.append({name: gram_matrix(feats[name])[0] for name in layers})
    return blend_grams(grams, blend)


def stylize_gatys(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: GatysConfig = GatysConfig(),
    blend: Optional[Sequence[float]] = None,
    mask: Optional[torch.Tensor] = None,
    init_image: Optional[torch.Tensor] = None,
    extra_loss: Optional[ExtraLoss] = None,
    checkpoint: Optional[Checkpoint] = None,
    resume: bool = False,
    progress: bool = True,
) -> GatysResult:
    """Stylize ``content`` (``1,3,H,W`` in [0,1], already at the output size) with ``styles`` (``1,3,h,w`` each).

    ``blend``: one weight per style (default equal). ``mask``: ``1,1,H,W`` in [0,1]; style applies where it is 1
    and the content is kept where it is 0 (the image is parametrised as ``m·x + (1−m)·content``).
    ``init_image`` overrides ``config.init`` (used by the video path to start from the warped previous frame).
    ``extra_loss`` adds terms computed on the current image. Returns the best image seen.
    """
    config.validate()
    if not styles:
        raise InputError("at least one style image is needed")
    if blend is not None and len(blend) != len(styles):
        raise InputError(f"--blend needs one weight per style image: got {len(blend)} weights for {len(styles)} styles")
    if mask is not None and mask.shape[-2:] != content.shape[-2:]:
        raise InputError(f"mask size {tuple(mask.shape[-2:])} does not match the content size {tuple(content.shape[-2:])}")
    if min(content.shape[-2:]) < MIN_VGG_SIDE:
        raise InputError(f"the output would be {content.shape[-1]}x{content.shape[-2]} px; its short side needs at "
                         f"least {MIN_VGG_SIDE} px: raise --size")
    device = content.device
    styles = [s.to(device) for s in styles]
    encoder = load_vgg19(device, pooling=config.pooling)
    layers = list(dict.fromkeys([*config.style_layers, config.content_layer]))
    lr = config.lr if config.lr is not None else (1.0 if config.optimizer == "lbfgs" else 0.02)
    torch.manual_seed(config.seed)

    full_h, full_w = content.shape[-2:]
    resume_level = _checkpoint_level(checkpoint, config.levels) if (resume and checkpoint is not None) else 0
    image = init_image.to(device) if init_image is not None else _initial_image(config.init, content, styles, config.seed)
    result = None
    for level in range(config.levels):
        factor = 2 ** (config.levels - 1 - level)
        size = (max(MIN_VGG_SIDE, full_h // factor), max(MIN_VGG_SIDE, full_w // factor))
        level_content = F.interpolate(content, size=size, mode="bilinear", align_corners=False) if factor > 1 else content
        level_mask = None if mask is None else F.interpolate(mask.to(device), size=size, mode="bilinear", align_corners=False)
        x = F.interpolate(image, size=size, mode="bilinear", align_corners=False) if image.shape[-2:] != size else image
        x = x.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
        targets = style_grams(encoder, styles, config.style_layers, max(size), config.style_scale, blend)
        layer_weights = {name: 1.0 / (len(targets) * float(g.pow(2).mean().clamp_min(1e-12))) for name, g in targets.items()}
        with torch.no_grad():
            content_target = encoder(level_content, [config.content_layer])[config.content_layer]
        content_scale = 1.0 / float(content_target.pow(2).mean().clamp_min(1e-12))

        def compose(x=x, level_content=level_content, level_mask=level_mask):
            return x if level_mask is None else level_mask * x + (1 - level_mask) * level_content

        def loss_fn(compose=compose, targets=targets, content_target=content_target, level_mask=level_mask,
                    layer_weights=layer_weights, content_scale=content_scale):
            img = compose()
            feats = encoder(img, layers)
            style = gram_style_loss({k: feats[k] for k in config.style_layers}, targets, layer_weights, mask=level_mask)
            cont = content_scale * content_loss(feats[config.content_layer], content_target)
            terms = {"style": style, "content": cont}
            total = config.style_weight * style + config.content_weight * cont
            if config.tv_weight > 0:
                terms["tv"] = total_variation(img)
                total = total + config.tv_weight * terms["tv"]
            if extra_loss is not None:
                for name, value in extra_loss(img).items():
                    terms[name] = value
                    total = total + value
            terms["total"] = total
            return terms

        if level < resume_level:
            continue
        with torch.no_grad():
            initial = loss_fn()
        if checkpoint is not None:
            checkpoint.meta = {**checkpoint.meta, "level": level}
        desc = f"gatys {size[1]}x{size[0]}" + (f" (level {level + 1}/{config.levels})" if config.levels > 1 else "")
        result = optimize([x], loss_fn, config.steps, optimizer=config.optimizer, lr=lr, project=lambda x=x: x.clamp_(0, 1),
                          checkpoint=checkpoint, resume=resume and level == resume_level, progress=progress, desc=desc)
        image = compose().detach()
        if result.interrupted:
            break
    with torch.no_grad():
        final = loss_fn()
    if config.preserve_color:
        image = luminance_transfer(image, content)
    return GatysResult(image=image.clamp(0, 1), optimization=result,
                       style_loss_initial=float(initial["style"]), style_loss_final=float(final["style"]),
                       content_loss_final=float(final["content"]), interrupted=result.interrupted)


def _checkpoint_level(checkpoint: Checkpoint, levels: int) -> int:
    """The pyramid level (``0..levels-1``) a saved checkpoint belongs to (0 when there is none)."""
    state = checkpoint.read()
    level = 0 if state is None else state["meta"].get("level", 0)
    if not (isinstance(level, int) and 0 <= level < levels):
        raise InputError(f"checkpoint {checkpoint.path} is for pyramid level {str(level)[:20]}, not one of the "
                         f"{levels} levels of this job; delete it to start over")
    return level

