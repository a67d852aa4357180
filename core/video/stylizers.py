"""Per-frame stylizers for the video path, by ``--method`` name.

Each entry builds a :class:`core.video.consistency.FrameStylizer` from style images and options. Adding a
method means adding one builder to ``METHODS``.

* ``gatys``: optimisation (:func:`core.image.gatys.stylize_gatys`); ``init``/``terms``/``steps`` act
  on its own loss (one VGG19 for all frames).
* ``fast``: the quick image path (:func:`core.image.fast.stylize_fast`: colour transfer, a few Gram steps at
  256 px, the frame's detail restored); the default of ``blend`` mode. With ``terms`` it is refined like
  adain/wct below.
* ``adain`` / ``wct``: one decoder pass (:func:`core.image.feedforward.stylize_feedforward`). With
  ``terms`` (``optimize`` mode, ``blend`` refinement) the frame is then refined in pixel space from
  ``init``: L-BFGS on ``mean((255·(x − decoded))²) + Σ terms(x)``, so the decoder's result plays the role
  of the per-frame objective.
"""

import dataclasses
from typing import Callable, Dict, Optional, Sequence

import torch

from core.errors import InputError
from core.image.fast import FastConfig, stylize_fast
from core.image.feedforward import load_decoder, stylize_feedforward
from core.image.gatys import GatysConfig, stylize_gatys
from core.io.images import resize_long_side
from core.nn.vgg import load_vgg19
from core.optimize import optimize
from core.stylization import Term
from core.video.consistency import FrameStylizer


class GatysFrameStylizer:
    """Optimisation-based stylizer (:func:`core.image.gatys.stylize_gatys`) as a frame stylizer.

    Ctrl-C inside a frame's optimisation is re-raised as :class:`KeyboardInterrupt` so the caller can stop
    the sequence and keep the frames already finished.
    """

    def __init__(self, styles: Sequence[torch.Tensor], config: GatysConfig):
        config.validate()
        self.styles = list(styles)
        self.config = config
        self.encoder = load_vgg19(self.styles[0].device, pooling=config.pooling)

    def __call__(self, content: torch.Tensor, init: Optional[torch.Tensor] = None,
                 terms: Sequence[Term] = (), steps: Optional[int] = None) -> torch.Tensor:
        config = self.config
        if steps is not None:
            config = dataclasses.replace(config, loop=dataclasses.replace(config.loop, steps=steps))
        result = stylize_gatys(content, self.styles, config, init_image=init, terms=terms, progress=False,
                               encoder=self.encoder)
        if result.interrupted:
            raise KeyboardInterrupt
        return result.image


class FeedForwardFrameStylizer:
    """A feed-forward decoder (``method`` ``adain`` or ``wct``) as a frame stylizer; see the module docstring."""

    def __init__(self, styles: Sequence[torch.Tensor], method: str, decoder: Optional[str] = None,
                 alpha: float = 1.0, refine_steps: int = 30):
        self.styles = list(styles)
        self.method, self.decoder, self.alpha, self.refine_steps = method, decoder, alpha, refine_steps
        load_decoder(decoder, self.styles[0].device)  # fail now (ModelError) rather than at the first frame

    def __call__(self, content: torch.Tensor, init: Optional[torch.Tensor] = None,
                 terms: Sequence[Term] = (), steps: Optional[int] = None) -> torch.Tensor:
        decoded = stylize_feedforward(content, self.styles, method=self.method, decoder_path=self.decoder,
                                      alpha=self.alpha, device=content.device)
        if not terms:
            return decoded
        return refine_pixels(decoded, init, terms, steps or self.refine_steps)


class FastFrameStylizer:
    """The fast image path (:func:`core.image.fast.stylize_fast`) as a frame stylizer; with ``terms`` the frame is
    refined in pixel space like the feed-forward stylizers (see the module docstring)."""

    def __init__(self, styles: Sequence[torch.Tensor], config: FastConfig, refine_steps: int = 30):
        if len(styles) != 1:
            raise InputError(f"--method fast takes exactly one style image, got {len(styles)}")
        config.validate()
        self.style, self.config, self.refine_steps = styles[0], config, refine_steps
        self.encoder = load_vgg19(self.style.device)
        self.sized_style: Optional[torch.Tensor] = None  # the style at the frames' working size, made once

    def __call__(self, content: torch.Tensor, init: Optional[torch.Tensor] = None,
                 terms: Sequence[Term] = (), steps: Optional[int] = None) -> torch.Tensor:
        side = self.config.style_side(max(content.shape[-2:]))
        if self.sized_style is None or max(self.sized_style.shape[-2:]) != side:
            self.sized_style = resize_long_side(self.style, side)
        image = stylize_fast(content, self.sized_style, self.config, encoder=self.encoder)
        if not terms:
            return image
        return refine_pixels(image, init, terms, steps or self.refine_steps)


def refine_pixels(target: torch.Tensor, init: Optional[torch.Tensor], terms: Sequence[Term], steps: int,
                  weight: float = 1.0) -> torch.Tensor:
    """Pixels ``1,3,H,W`` in [0,1] from ``init`` (default ``target``) after ``steps`` L-BFGS steps on
    ``weight · mean((255·(x − target))²) + Σ terms(x, None)``; Ctrl-C re-raised as :class:`KeyboardInterrupt`."""
    x = (target if init is None else init).detach().clone().requires_grad_(True)

    def loss_fn():
        values = {"target": weight * (255.0 * (x - target)).square().mean()}
        for term in terms:
            values.update(term(x, None))
        values["total"] = sum(values.values())
        return values

    result = optimize([x], loss_fn, steps, optimizer="lbfgs", lr=1.0, project=lambda: x.clamp_(0, 1), progress=False)
    if result.interrupted:
        raise KeyboardInterrupt
    return x.detach()


def _gatys(styles: Sequence[torch.Tensor], options: dict) -> FrameStylizer:
    return GatysFrameStylizer(styles, options["gatys"])


def _feedforward(method: str) -> Callable[[Sequence[torch.Tensor], dict], FrameStylizer]:
    return lambda styles, options: FeedForwardFrameStylizer(styles, method, options.get("decoder"),
                                                            options.get("alpha", 1.0))


def _fast(styles: Sequence[torch.Tensor], options: dict) -> FrameStylizer:
    return FastFrameStylizer(styles, FastConfig())


METHODS: Dict[str, Callable[[Sequence[torch.Tensor], dict], FrameStylizer]] = {
    "gatys": _gatys, "fast": _fast, "adain": _feedforward("adain"), "wct": _feedforward("wct")}
"""``--method`` name → builder ``(styles, options) -> FrameStylizer``; ``options["gatys"]`` is a
:class:`GatysConfig`, ``decoder``/``alpha`` the feed-forward settings (``fast`` runs with its defaults)."""


def default_method(consistency: str) -> str:
    """The per-frame stylizer when none is named: ``fast`` for ``blend`` mode (the quick path), else ``gatys``."""
    return "fast" if consistency == "blend" else "gatys"


def make_frame_stylizer(method: str, styles: Sequence[torch.Tensor], options: dict) -> FrameStylizer:
    """The frame stylizer called ``method`` (ValueError for an unknown name; the CLI restricts choices)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    return METHODS[method](styles, options)
