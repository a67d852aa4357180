"""Settings of Gatys optimisation (:class:`GatysConfig`), without torch: ``stylize image``'s flags are built from
it before torch is imported. :func:`core.image.gatys.stylize_gatys` runs it."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import ConfigError
from core.loop_config import LoopConfig
from core.losses.config import StyleLossConfig

INITS = ("content", "noise", "style")
POOLINGS = ("max", "avg")


@dataclass
class GatysConfig:
    """Settings of :func:`stylize_gatys`; the loss and loop defaults are Gatys' (L-BFGS, style weight 30)."""

    loss: StyleLossConfig = field(default_factory=lambda: StyleLossConfig(style_weight=30.0))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(steps=300, optimizer="lbfgs"))
    tv_weight: float = field(default=0.0, metadata={"help": "total-variation smoothing weight"})
    init: str = field(default="content", metadata={"help": "starting image", "choices": INITS})
    levels: int = field(default=1, metadata={"help": "image-pyramid levels, coarse to fine (level k from the coarsest "
                                                     "works at size / 2**(levels-1-k))"})
    preserve_color: bool = field(default=False, metadata={"help": "keep the content's colours (luminance-only transfer)"})
    pooling: str = field(default="max", metadata={"help": "VGG pooling (Gatys et al. suggest avg)", "choices": POOLINGS})
    seed: int = field(default=0, metadata={"help": "random seed (noise init); same seed, same result on CPU"})

    def validate(self) -> None:
        self.loss.validate()
        self.loop.validate()
        if self.init not in INITS:
            raise ConfigError("init", f"unknown {self.init!r}; choose from {', '.join(INITS)}")
        if self.levels < 1:
            raise ConfigError("levels", f"must be >= 1, got {self.levels}")
        if self.pooling not in POOLINGS:
            raise ConfigError("pooling", f"unknown {self.pooling!r}; choose from {', '.join(POOLINGS)}")
        if not self.tv_weight >= 0:
            raise ConfigError("tv_weight", f"must be >= 0, got {self.tv_weight}")
