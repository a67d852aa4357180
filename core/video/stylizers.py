"""Per-frame stylizers for the video path, by ``--method`` name.

Each entry builds a :class:`core.video.consistency.FrameStylizer` from style images and options. Adding a
method (e.g. a feed-forward AdaIN decoder once it exists in core) means adding one builder to ``METHODS``.
"""

import dataclasses
from typing import Callable, Dict, Optional, Sequence

import torch

from core.image.gatys import GatysConfig, stylize_gatys
from core.video.consistency import ExtraLoss, FrameStylizer


class GatysFrameStylizer:
    """Optimisation-based stylizer (:func:`core.image.gatys.stylize_gatys`) as a frame stylizer.

    Ctrl-C inside a frame's optimisation is re-raised as :class:`KeyboardInterrupt` so the caller can stop
    the sequence and keep the frames already finished.
    """

    def __init__(self, styles: Sequence[torch.Tensor], config: GatysConfig):
        config.validate()
        self.styles = list(styles)
        self.config = config

    def __call__(self, content: torch.Tensor, init: Optional[torch.Tensor] = None,
                 extra_loss: Optional[ExtraLoss] = None, steps: Optional[int] = None) -> torch.Tensor:
        config = self.config if steps is None else dataclasses.replace(self.config, steps=steps)
        result = stylize_gatys(content, self.styles, config, init_image=init, extra_loss=extra_loss, progress=False)
        if result.interrupted:
            raise KeyboardInterrupt
        return result.image


def _gatys(styles: Sequence[torch.Tensor], options: dict) -> FrameStylizer:
    names = {f.name for f in dataclasses.fields(GatysConfig)}
    return GatysFrameStylizer(styles, GatysConfig(**{k: v for k, v in options.items() if k in names and v is not None}))


METHODS: Dict[str, Callable[[Sequence[torch.Tensor], dict], FrameStylizer]] = {"gatys": _gatys}
"""``--method`` name → builder ``(styles, options) -> FrameStylizer``; options hold CLI values by field name."""


def make_frame_stylizer(method: str, styles: Sequence[torch.Tensor], options: dict) -> FrameStylizer:
    """The frame stylizer called ``method`` (ValueError for an unknown name; the CLI restricts choices)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    return METHODS[method](styles, options)
