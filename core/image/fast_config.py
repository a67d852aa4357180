"""Settings of the quick path (:class:`FastConfig`), without torch: the torch engine (:mod:`core.image.fast`) and the
ONNX Runtime engine (:mod:`core.image.fast_ort`) run the same recipe from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import ConfigError
from core.losses.config import MIN_VGG_SIDE, StyleLossConfig

FAST_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclass
class FastConfig:
    """Settings of :func:`stylize_fast` (defaults: the chosen recipe, see the module docstring)."""

    work_size: int = field(default=208, metadata={"help": "long side in px at which the style is optimised"})
    steps: int = field(default=3, metadata={"help": "L-BFGS steps at the working size (one loss+gradient "
                                                     "evaluation each)"})
    first_step: float = field(default=0.2, metadata={"help": "largest pixel change of the first (steepest-descent) "
                                                             "step, in [0,1] units"})
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
        if not 0.0 < self.first_step <= 1.0:
            raise ConfigError("first_step", f"must be in (0, 1], got {self.first_step}")
        if not 0.0 <= self.detail <= 1.0:
            raise ConfigError("detail", f"must be in [0, 1], got {self.detail}")
        self.loss_config().validate()
