"""Restyle an SVG scene after a painting, as a task on the stylization driver.

:class:`SvgStyleTask` renders the scene on white at ``size`` px; :func:`core.stylization.stylize` (Adam) takes the
shared objective (:mod:`core.losses.objective`: gram, meanstd or nnfm, relative to its targets) on the full
render with the original render as content reference. Regularisers: the style term on ``crops`` random crops
of the render, LIVE's Xing loss against looped cubics, and optionally a pull of the colours towards a palette.
With crops, the style weight is shared out so that ``style_weight · (full + Σ crops) / (1 + crops)`` is what
counts. Point shifts, width ratios and colour ranges are hard bounds (:class:`vector.params.SceneParams`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from core.config import replace_fields
from core.errors import ConfigError, InputError
from core.io.images import load_image
from core.losses.objective import StyleLossConfig, StyleObjective
from core.optimize import Checkpoint
from core.stylization import LoopConfig, StylizationResult, Term, stylize
from vector.flatten import device_points, scene_index, shape_to_device
from vector.model import PARAM_KINDS, Scene
from vector.palette import colour_tensors, image_palette, palette_pull_loss, reduce_palette, snap_to_palette
from vector.params import SceneParams
from vector.raster import render
from vector.regularizers import xing_loss
from vector.svg import parse_svg

MIN_SIZE = 32


@dataclass
class RestyleConfig:
    """Settings of :func:`restyle_scene` (the ``stylize svg`` options)."""

    loss: StyleLossConfig = field(default_factory=lambda: StyleLossConfig(kind="gram", content_weight=0.5))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(steps=150, optimizer="adam", lr=1.0))
    size: int = field(default=256, metadata={"help": "long side of the working render in pixels"})
    optimize: Tuple[str, ...] = field(default=("colors", "points", "widths"), metadata={
        "help": f"comma-separated parameters to optimise: {', '.join(PARAM_KINDS)}"})
    xing_weight: float = field(default=0.1, metadata={"help": "weight of the Xing loss (looped cubics)"})
    max_shift: float = field(default=0.03, metadata={"help": "largest control-point shift, as a fraction of the "
                                                             "render's diagonal"})
    crops: int = field(default=1, metadata={"help": "random crops per step for the style loss"})
    palette: int = field(default=0, metadata={"help": "reduce the result to K colours (k-means over its own "
                                                      "colours); 0 = off", "metavar": "K"})
    palette_from_style: int = field(default=0, metadata={
        "help": "pull colours towards K colours of the style image (k-means), then snap to them; 0 = off",
        "metavar": "K"})
    palette_weight: float = field(default=1.0, metadata={"help": "weight of the pull towards --palette-from-style"})
    seed: int = field(default=0, metadata={"help": "random seed (crops, palettes)"})

    def validate(self) -> None:
        self.loss.validate()
        self.loop.validate()
        unknown = set(self.optimize) - set(PARAM_KINDS)
        if unknown or not self.optimize:
            raise ConfigError("optimize", f"takes a comma list of {', '.join(PARAM_KINDS)}; "
                                          f"got {','.join(self.optimize) or 'nothing'}")
        if self.size < MIN_SIZE or self.size > 2048:
            raise ConfigError("size", f"{self.size} is out of range; use {MIN_SIZE}..2048")
        if self.crops < 0:
            raise ConfigError("crops", f"must be >= 0, got {self.crops}")
        if self.palette and self.palette_from_style:
            raise ConfigError("palette", "use either --palette or --palette-from-style, not both")
        for name in ("palette", "palette_from_style"):
            if not 0 <= getattr(self, name) <= 64:
                raise ConfigError(name, f"palette sizes must be in 1..64 (0 = off), got {getattr(self, name)}")
        for name in ("xing_weight", "max_shift", "palette_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(name, f"must be >= 0, got {getattr(self, name)}")


@dataclass
class RestyleResult:
    """The restyled ``scene`` (restyled in place), the driver's record and the palette used (``K,3`` in [0,1])."""

    scene: Scene
    stylization: StylizationResult
    palette: Optional[torch.Tensor]

    @property
    def optimization(self):
        return self.stylization.optimization

    @property
    def interrupted(self) -> bool:
        return self.stylization.interrupted


def render_size(scene: Scene, size: int) -> tuple:
    """(width, height) in pixels with the long side ``size`` and the document's aspect ratio."""
    scale = size / max(scene.width, scene.height)
    return max(1, round(scene.width * scale)), max(1, round(scene.height * scale))


def render_on_white(scene: Scene, width: int, height: int) -> torch.Tensor:
    """RGB render ``1,3,H,W`` in [0,1] composited on white."""
    return render(scene, width, height, background=(1.0, 1.0, 1.0))[:, :3]


def random_crop_box(generator: torch.Generator, height: int, width: int) -> tuple:
    """``(y, x, side)`` of a random square crop covering 50–100% of the short side."""
    side = int(min(height, width) * (0.5 + 0.5 * torch.rand(1, generator=generator).item()))
    y = int(torch.randint(0, height - side + 1, (1,), generator=generator))
    x = int(torch.randint(0, width - side + 1, (1,), generator=generator))
    return y, x, side


class SvgStyleTask:
    """An SVG scene on the driver: the view is this step's list of crop boxes (empty without crops)."""

    def __init__(self, scene: Scene, params: SceneParams, config: RestyleConfig, objective: StyleObjective,
                 pull_palette: Optional[torch.Tensor], stochastic: bool):
        self.scene, self.vars, self.config, self.objective = scene, params, config, objective
        self.pull_palette, self.stochastic = pull_palette, stochastic
        self.palette: Optional[torch.Tensor] = None
        self.finished = False
        self.width, self.height = render_size(scene, config.size)
        self.index = scene_index(scene)
        self.crop_weight = config.loss.style_weight / (1 + config.crops)
        with torch.no_grad():
            self.original = render_on_white(scene, self.width, self.height)

    def params(self) -> List[torch.Tensor]:
        return self.vars.leaves

    def sample_view(self, generator: torch.Generator) -> list:
        return [random_crop_box(generator, self.height, self.width) for _ in range(self.config.crops)]

    def render(self, view) -> torch.Tensor:
        if not self.finished:  # after finish() the scene holds the final (possibly palette-snapped) values
            self.vars.apply()
        return render_on_white(self.scene, self.width, self.height)

    def reference(self, view) -> torch.Tensor:
        return self.original

    def view_key(self, view) -> str:
        return "original"

    def regularizers(self, image: torch.Tensor, view) -> dict:
        terms = {}
        if view:
            crops = [F.interpolate(image[..., y:y + s, x:x + s], size=(self.height, self.width), mode="bilinear",
                                   align_corners=False) for y, x, s in view]
            feats = self.objective.encoder(torch.cat(crops), self.objective.style_layers)
            terms["style_crops"] = self.crop_weight * len(crops) * self.objective.style_term(feats)
        device = image.device
        if "points" in self.config.optimize and self.config.xing_weight > 0:
            ctrl = device_points(self.scene, shape_to_device(self.scene, self.width, self.height))[self.index.segments.to(device)]
            terms["xing"] = self.config.xing_weight * xing_loss(ctrl)
        if self.pull_palette is not None:
            terms["palette"] = self.config.palette_weight * palette_pull_loss(colour_tensors(self.scene), self.pull_palette)
        return terms

    def project(self) -> None:
        self.vars.project()

    def finish(self, interrupted: bool) -> None:
        """Write the optimised values into the scene, then snap to or reduce the palette when asked."""
        self.vars.finish()
        self.finished = True
        if self.pull_palette is not None:
            snap_to_palette(self.scene, self.pull_palette)
            self.palette = self.pull_palette
        elif self.config.palette:
            self.palette = reduce_palette(self.scene, self.config.palette, self.config.seed)


def restyle_scene(
    scene: Scene,
    style: torch.Tensor,
    config: Optional[RestyleConfig] = None,
    terms: Sequence[Term] = (),
    checkpoint: Optional[Checkpoint] = None,
    resume: bool = False,
    progress: bool = True,
) -> RestyleResult:
    """Optimise ``scene`` in place towards the style of ``style`` (``1,3,h,w`` in [0,1]).

    ``terms`` add losses on each full render (e.g. a diffusion prior). When this returns (also after Ctrl-C)
    the scene's tensors hold the lowest-loss values seen, or the last values when the objective is
    stochastic (random crops or extra terms such as SDS), where a low single loss means little.
    """
    config = config or RestyleConfig()
    config.validate()
    if not scene.shapes:
        raise InputError("the SVG has no shapes that can be rendered (nothing to restyle)")
    width, height = render_size(scene, config.size)
    params = SceneParams(scene, config.optimize, width, height, max_shift_px=config.max_shift * math.hypot(width, height))
    if not params.vars:
        raise InputError(f"nothing to optimise: the SVG has no editable {', '.join(config.optimize)}")
    if min(width, height) < 16:
        raise InputError(f"the render would be {width}x{height} px; raise --size so its short side is at least 16 px")
    device = params.vars[0].delta.device
    # the full render's share of the style weight; the crops carry the rest (see the module docstring)
    loss = replace(config.loss, style_weight=config.loss.style_weight / (1 + config.crops))
    objective = StyleObjective(loss, device).set_style([style.to(device)], config.size)
    pull_palette = image_palette(style, config.palette_from_style, config.seed).to(device) if config.palette_from_style else None
    task = SvgStyleTask(scene, params, config, objective, pull_palette, stochastic=config.crops > 0 or bool(terms))
    result = stylize(task, objective, config.loop, terms, checkpoint=checkpoint, resume=resume, progress=progress,
                     desc="restyling svg", seed=config.seed)
    return RestyleResult(scene, result, task.palette)


def style_picture(style: Union[torch.Tensor, str, os.PathLike], size: int, device="cpu") -> torch.Tensor:
    """The style picture ``1,3,h,w`` in [0,1] for a render of long side ``size``: a tensor as it is (on
    ``device``), a path read at ``max(size, 64)`` px on the long side."""
    if isinstance(style, torch.Tensor):
        return style.to(device)
    return load_image(style, long_side=max(size, 64), device=device)


def restyle_svg(svg: Union[Scene, str, os.PathLike], style: Union[torch.Tensor, str, os.PathLike], *,
                size: Optional[int] = None, config: Optional[RestyleConfig] = None, terms: Sequence[Term] = (),
                checkpoint: Optional[Checkpoint] = None, resume: bool = False, progress: bool = False,
                device="cpu", **fields) -> RestyleResult:
    """Restyle an SVG after ``style``, keeping it editable; returns the :class:`RestyleResult` (``result.scene``
    is the restyled scene: write it with :func:`vector.writer.write_svg`, render it with :func:`vector.raster.render`).

    ``svg``: a parsed scene (restyled in place) or an SVG path (parsed onto ``device``). ``style``: ``1,3,h,w`` in
    [0,1], or an image path. ``size``: long side of the working render (default 256). Settings: ``config``
    (:class:`RestyleConfig`) and/or its fields by plain name (``steps=50, optimize=("colors",), kind="gram",
    palette=6``). ``terms`` add losses on each full render (e.g. a diffusion prior).
    """
    config = replace_fields(config or RestyleConfig(), **fields, **({} if size is None else {"size": size}))
    scene = svg if isinstance(svg, Scene) else parse_svg(svg, device=device)
    return restyle_scene(scene, style_picture(style, config.size, device), config, terms, checkpoint, resume,
                         progress)
