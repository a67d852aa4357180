"""Which style loss, on which VGG19 layers, with which weights: :class:`StyleLossConfig`, without torch.

The numbers it stands for are defined and computed in :mod:`core.losses.objective` (see its docstring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

from core.errors import ConfigError
from core.nn.vgg_layers import LAYER_NAMES

STYLE_KINDS = ("gram", "meanstd", "nnfm")
GATYS_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
NNFM_LAYERS = ("relu3_1", "relu3_2", "relu3_3")
CONTENT_LAYER = "relu4_2"
MIN_VGG_SIDE = 16
"""relu5_1 sits behind four 2× poolings: images need at least 16 px on their short side."""


def style_long_side(height: int, width: int, working_long_side: int, style_scale: float) -> int:
    """Long side a ``height×width`` style image is resized to: ``style_scale ×`` the working long side, but never so
    small that its short side drops below :data:`MIN_VGG_SIDE`."""
    shortest_allowed = math.ceil(MIN_VGG_SIDE * max(height, width) / min(height, width))
    return max(shortest_allowed, round(working_long_side * style_scale))


def _layer_list(text) -> Optional[Tuple[str, ...]]:
    if text is None:
        return None
    names = tuple(n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip())
    return names or None


@dataclass
class StyleLossConfig:
    """Which style loss, on which VGG19 layers, with which weights (see the module docstring)."""

    kind: str = field(default="gram", metadata={"help": "style loss: gram (Gatys), meanstd (AdaIN statistics) or "
                                                        "nnfm (ARF nearest-neighbour feature matching)",
                                                "choices": STYLE_KINDS, "flag": "--loss"})
    style_weight: float = field(default=1.0, metadata={"help": "weight of the style term"})
    content_weight: float = field(default=1.0, metadata={"help": "weight of the content term (feature error against "
                                                                  "the reference: the photo, the original render)"})
    style_layers: Optional[Tuple[str, ...]] = field(default=None, metadata={
        "help": "comma-separated VGG19 layers of the style term (default: relu1_1..relu5_1 for gram/meanstd, "
                "relu3_1..relu3_3 for nnfm)"})
    content_layers: Optional[Tuple[str, ...]] = field(default=None, metadata={
        "help": "comma-separated VGG19 layers of the content term (default: relu4_2; nnfm: its style layers)"})
    relative: bool = field(default=True, metadata={"help": "make each layer's term relative to its target's "
                                                            "magnitude (weights then carry across front ends)"})
    style_scale: float = field(default=1.0, metadata={"help": "style image size relative to the working size "
                                                               "(smaller = finer brush strokes)"})

    def __post_init__(self):
        self.style_layers = _layer_list(self.style_layers)
        self.content_layers = _layer_list(self.content_layers)

    @property
    def resolved_style_layers(self) -> Tuple[str, ...]:
        if self.style_layers:
            return self.style_layers
        return NNFM_LAYERS if self.kind == "nnfm" else GATYS_LAYERS

    @property
    def resolved_content_layers(self) -> Tuple[str, ...]:
        if self.content_layers:
            return self.content_layers
        return self.resolved_style_layers if self.kind == "nnfm" else (CONTENT_LAYER,)

    def validate(self) -> None:
        """Raises :class:`InputError` naming the field (the CLI maps fields to flags)."""
        if self.kind not in STYLE_KINDS:
            raise ConfigError("kind", f"unknown style loss {self.kind!r}; choose from {', '.join(STYLE_KINDS)}")
        for name in ("style_weight", "content_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(name, f"must be a finite number >= 0, got {value}")
        if not 0.05 <= self.style_scale <= 8:
            raise ConfigError("style_scale", f"{self.style_scale} is out of range; use a value in [0.05, 8]")
        for name in ("style_layers", "content_layers"):
            unknown = [n for n in (getattr(self, name) or ()) if n not in LAYER_NAMES]
            if unknown:
                raise ConfigError(name, f"unknown VGG19 layer(s) {', '.join(unknown)}; use names like relu3_1")
