"""What stylizing any 3D representation shares: the settings, the result, and the colour map fitted to the style.

Every representation (Gaussian splats, radiance fields; :mod:`stylize3d.representations`) stylizes by the same
recipe (ARF's, on :func:`core.stylization.stylize`): colour transfer to the style picture, the shared objective on
one random training view per step plus image TV, the colour transfer again. :class:`SceneStyleConfig` holds the
settings that mean the same for all of them; what only one representation has (which splat parameters train, the
SH degree) is that representation's own options class (``Representation.style_options``), so a new
representation never imports another's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from core.colour import fit_affine_colour_map, image_pixels
from core.errors import ConfigError, InputError
from core.losses.objective import StyleLossConfig
from core.stylization import LoopConfig, StylizationResult

BACKGROUND = (1.0, 1.0, 1.0)
"""Background colour (RGB in [0,1]) of the training renders of a stylization."""


@dataclass
class SceneStyleConfig:
    """Settings of a scene stylization shared by every representation (defaults tuned on the bundled scene at
    128–256 px, CPU).

    The content weight multiplies the relative feature error (:mod:`core.losses.objective`); 0.02 equals the
    earlier absolute weight 2e-7 on the bundled scene at 256 px, where ``mean(F²)`` of relu3_x is ≈ 1e5.
    """

    loss: StyleLossConfig = field(default_factory=lambda: StyleLossConfig(kind="nnfm", content_weight=0.02))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(steps=150, optimizer="adam", lr=0.1))
    size: int = field(default=256, metadata={"help": "long side of training renders in pixels"})
    tv_weight: float = field(default=1.0, metadata={"help": "image total-variation weight"})
    color_transfer: bool = field(default=True, metadata={"help": "affine colour transfer to the style before and after"})
    seed: int = field(default=0, metadata={"help": "random seed (view order); same seed, same result on CPU"})

    def validate(self) -> None:
        self.loss.validate()
        self.loop.validate()
        if self.size < 32:
            raise ConfigError("size", f"{self.size} is too small; use at least 32")
        if not self.tv_weight >= 0:
            raise ConfigError("tv_weight", f"must be >= 0, got {self.tv_weight}")


@dataclass
class SceneStyleResult:
    """A stylized (or text-edited) scene of any representation."""

    scene: object                   # the stylized scene, of the input's representation
    stylization: StylizationResult
    colour_maps: list               # the (A 3,3, b 3) colour maps applied, before and after
    cameras: object = None          # the Cameras it trained on

    @property
    def optimization(self):
        return self.stylization.optimization


def fit_scene_colour_map(renders: torch.Tensor, alphas: torch.Tensor, style: torch.Tensor):
    """The affine map ``(A 3,3, b 3)`` from the colours of the covered pixels of ``renders`` (``N,3,H,W`` in [0,1];
    covered where ``alphas`` ``N,1,H,W`` > 0.5) to the colours of the style picture (``1,3,h,w`` in [0,1])."""
    covered = image_pixels(renders)[image_pixels(alphas.expand_as(renders))[:, 0] > 0.5]
    if covered.shape[0] < 16:
        raise InputError("the scene covers almost no pixels in these views; check the cameras")
    return fit_affine_colour_map(covered, image_pixels(style))
