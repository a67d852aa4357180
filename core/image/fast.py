"""The quick stylization path (``--method fast``): a few Gram steps at a low working size, then detail restored.

Recipe (chosen from the frontier in ``benchmarks/bench_fast.py``, BENCHMARKS.md "Fast path"):

1. Shrink the photo to ``work_size`` px on its long side (256 by default) and recolour it to the style's RGB
   mean/covariance (ARF's affine colour transfer, :func:`core.colour.match_colour_stats`): the start image.
2. ``steps`` L-BFGS steps (3 by default) on the shared :class:`core.losses.objective.StyleObjective`: relative
   Gram loss on ``relu1_1 … relu4_1`` (relu4_1 is where the style distance of :mod:`core.metrics` lives) plus the
   relative ``relu4_2`` content loss, ``style_weight`` 5. The first L-BFGS step only probes the curvature, so
   three steps are two real updates.
3. Upsample to the photo's size (bicubic) and add back ``detail ×`` the photo's own high frequencies (the photo
   minus its working-size copy upsampled), so a 512 px result is sharp where the style was painted at 256 px.

No decoder is involved (the shipped AdaIN decoder is under-trained, see ``core/nn/weights/MODEL_CARD.md``) and
no random numbers are drawn: the same inputs give a bit-identical result on the same machine and thread count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from core.colour import luminance_transfer, match_colour_stats
from core.errors import ConfigError, InputError
from core.io.images import resize_long_side
from core.losses.objective import MIN_VGG_SIDE, StyleLossConfig, StyleObjective
from core.nn.vgg import load_vgg19
from core.optimize import optimize

FAST_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclass
class FastConfig:
    """Settings of :func:`stylize_fast` (defaults: the chosen recipe, see the module docstring)."""

    work_size: int = field(default=256, metadata={"help": "long side in px at which the style is optimised"})
    steps: int = field(default=3, metadata={"help": "L-BFGS steps at the working size (the first only probes)"})
    style_weight: float = field(default=5.0, metadata={"help": "weight of the relative Gram style term"})
    content_weight: float = field(default=1.0, metadata={"help": "weight of the relative relu4_2 content term"})
    style_layers: tuple[str, ...] = FAST_STYLE_LAYERS
    style_scale: float = field(default=1.0, metadata={"help": "style image size relative to the working size"})
    detail: float = field(default=1.0, metadata={"help": "share of the photo's fine detail (above the working "
                                                         "size's band) added back, in [0, 1]"})
    preserve_color: bool = field(default=False, metadata={"help": "keep the content's colours (luminance-only)"})

    def style_side(self, size: int) -> int:
        """Long side in px to read the style picture at, for an output of long side ``size``."""
        return max(16, round(min(size, self.work_size) * self.style_scale))

    def loss_config(self) -> StyleLossConfig:
        """The :class:`StyleLossConfig` of the optimisation step."""
        return StyleLossConfig(kind="gram", style_weight=self.style_weight, content_weight=self.content_weight,
                               style_layers=self.style_layers, style_scale=self.style_scale)

    def validate(self) -> None:
        """Raises :class:`ConfigError` naming the field."""
        if self.work_size < MIN_VGG_SIDE:
            raise ConfigError("work_size", f"must be >= {MIN_VGG_SIDE}, got {self.work_size}")
        if self.steps < 0:
            raise ConfigError("steps", f"must be >= 0, got {self.steps}")
        if not 0.0 <= self.detail <= 1.0:
            raise ConfigError("detail", f"must be in [0, 1], got {self.detail}")
        self.loss_config().validate()


def working_copy(image: torch.Tensor, work_size: int) -> torch.Tensor:
    """``image`` ``B,3,H,W`` in [0,1] shrunk to ``work_size`` px on its long side (never enlarged)."""
    return resize_long_side(image, work_size) if max(image.shape[-2:]) > work_size else image


def restore_detail(stylized: torch.Tensor, content: torch.Tensor, content_small: torch.Tensor,
                   amount: float) -> torch.Tensor:
    """Upsample ``stylized`` ``B,3,h,w`` to ``content``'s ``B,3,H,W`` (bicubic) and add ``amount ×`` the content's
    detail above the working band, ``content − upsample(content_small)``; all in [0,1], result clamped."""
    size = content.shape[-2:]
    if stylized.shape[-2:] == size:
        return stylized
    up = F.interpolate(stylized, size=size, mode="bicubic", align_corners=False)
    if amount > 0:
        base = F.interpolate(content_small, size=size, mode="bicubic", align_corners=False)
        up = up + amount * (content - base)
    return up.clamp(0.0, 1.0)


def stylize_fast(content: torch.Tensor, style: torch.Tensor, config: FastConfig | None = None,
                 encoder=None, progress: bool = False) -> torch.Tensor:
    """Stylize ``content`` ``B,3,H,W`` in [0,1] after one ``style`` ``1,3,h,w`` in [0,1]; returns ``B,3,H,W`` in
    [0,1] on ``content``'s device. ``encoder``: a VGG19 to reuse (default: the shared one for the device)."""
    config = config or FastConfig()
    config.validate()
    small = working_copy(content, config.work_size)
    if min(small.shape[-2:]) < MIN_VGG_SIDE:
        raise InputError(f"the working image would be {small.shape[-1]}x{small.shape[-2]} px; its short side needs "
                         f"at least {MIN_VGG_SIDE} px: raise the work size")
    device = content.device
    style = style.to(device)
    start = torch.cat([match_colour_stats(small[i:i + 1], style) for i in range(small.shape[0])])
    x = start.detach().clone().requires_grad_(True)
    if config.steps > 0:
        encoder = encoder if encoder is not None else load_vgg19(device)
        objective = StyleObjective(config.loss_config(), device, encoder).set_style([style], max(small.shape[-2:]))

        def loss_fn() -> dict:
            terms = objective.terms(x, small, key="content")
            return {**terms, "total": objective.weighted_total(terms)}

        optimize([x], loss_fn, config.steps, optimizer="lbfgs", lr=1.0, project=lambda: x.clamp_(0, 1),
                 progress=progress, desc=f"fast {small.shape[-1]}x{small.shape[-2]}", keep="last")
    image = restore_detail(x.detach(), content, small, config.detail)
    if config.preserve_color:
        image = luminance_transfer(image, content).clamp(0, 1)
    return image

