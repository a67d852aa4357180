"""The optimisation loop's settings (:class:`LoopConfig`), without torch: config dataclasses and CLI flags are
built from it before any model is loaded. :func:`core.stylization.stylize` runs the loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from core.errors import ConfigError

OPTIMIZERS = ("lbfgs", "adam")


@dataclass
class LoopConfig:
    """The optimisation loop of a stylization."""

    steps: int = field(default=300, metadata={"help": "optimisation steps"})
    optimizer: str = field(default="adam", metadata={"help": "optimiser", "choices": OPTIMIZERS})
    lr: Optional[float] = field(default=None, metadata={"help": "learning rate (when none is set: 1.0 for lbfgs, 0.02 for adam)"})

    @property
    def resolved_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        return 1.0 if self.optimizer == "lbfgs" else 0.02

    def validate(self) -> None:
        if self.steps < 0:
            raise ConfigError("steps", f"must be >= 0, got {self.steps}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", f"unknown {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError("lr", f"must be > 0, got {self.lr}")
