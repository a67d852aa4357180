"""Brush strokes optimised toward a style picture (in the spirit of Zou et al., "Stylized Neural Painting",
CVPR 2021): the strokes of a Hertzmann painting are the representation, :func:`vector.strokes.render.composite`
the differentiable renderer, and :func:`core.stylization.stylize` with the shared ``StyleObjective`` (style
picture + content loss on the photo) the loop.

Trainable: control points, radii, colours and opacities (each optional). Bounds keep strokes strokes, applied
by ``project`` after each step: radii within ``width_range`` x their initial radius, every control-point step
at most ``max_step`` x the stroke's initial radius (so a stroke is at most that much longer), points inside the
canvas, colours in [0, 1], opacities in [``min_opacity``, 1]; an optional Xing term (LIVE) against looped curves.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

import torch

from core.config import field_names, replace_fields
from core.errors import ConfigError
from core.io.images import load_image
from core.losses.objective import StyleLossConfig, StyleObjective
from core.optimize import Checkpoint
from core.stylization import LoopConfig, StylizationResult, TaskDefaults, stylize
from vector.regularizers import xing_loss
from vector.strokes.curves import Strokes, bezier_controls, pad_points
from vector.strokes.hertzmann import Painting
from vector.strokes.render import composite, visible_strokes

PARAMS = ("points", "radius", "colour", "opacity")
POINT_UNIT = 8.0
"""Pixels per unit of the trainable point tensor (so one Adam learning rate suits points and colours)."""
RADIUS_UNIT = 4.0
STROKE_STYLE_WEIGHT = 3.0
"""Default style weight of ``stylize paint --style`` (content weight 1). Strokes under bounds move the style
statistics slowly: at weight 1, 100 Adam steps left the independent style distance at 0.60-0.61x the painting's
(target 0.6x); at 3 it is 0.35x after 50 steps and 0.31x after 100 (BENCHMARKS.md), the content distance still
below ``stylize image``'s at the same size."""


@dataclass
class StrokeStyleConfig:
    """What is optimised and the bounds that keep strokes strokes."""

    optimize: tuple = field(default=PARAMS, metadata={"help": f"comma-separated stroke parameters to optimise: {', '.join(PARAMS)}"})
    width_range: tuple = field(default=(0.5, 2.0), metadata={"help": "allowed radius range, as factors of each stroke's initial radius"})
    max_step: float = field(default=1.5, metadata={"help": "longest control-point step, as a factor of the stroke's initial radius"})
    min_opacity: float = field(default=0.2, metadata={"help": "lowest stroke opacity"})
    xing_weight: float = field(default=0.01, metadata={"help": "weight of the Xing loss against looped stroke curves"})

    def validate(self) -> None:
        unknown = [k for k in self.optimize if k not in PARAMS]
        if unknown or not self.optimize:
            raise ConfigError("optimize", f"choose from {', '.join(PARAMS)} (got {','.join(self.optimize) or 'nothing'})")
        lo, hi = self.width_range
        if not 0 < lo <= 1 <= hi <= 8:
            raise ConfigError("width_range", f"{lo},{hi} must satisfy 0 < low <= 1 <= high <= 8")
        if not 0.1 <= self.max_step <= 8:
            raise ConfigError("max_step", f"{self.max_step} is out of range; use 0.1..8")
        if not 0 < self.min_opacity <= 1:
            raise ConfigError("min_opacity", f"{self.min_opacity} is out of range; use (0, 1]")
        if not self.xing_weight >= 0:
            raise ConfigError("xing_weight", f"must be >= 0, got {self.xing_weight}")


class StrokeStyleTask(TaskDefaults):
    """A :class:`core.stylization.StylizationTask` over brush strokes on a ``height`` x ``width`` canvas.

    ``photo`` (1, 3, H, W) in [0, 1] is the content reference; ``background`` the canvas colour (RGB in [0, 1]).
    """

    def __init__(self, strokes: Strokes, photo: torch.Tensor, config: StrokeStyleConfig = StrokeStyleConfig(),
                 background=(1.0, 1.0, 1.0)):
        config.validate()
        self.config = config
        self.photo = photo
        _, _, self.height, self.width = photo.shape
        self.count, self.layer = strokes.count, strokes.layer
        self.initial_radius = strokes.radius.detach().clone()
        self.background = torch.tensor(background, dtype=photo.dtype, device=photo.device)[:, None, None].expand(3, self.height, self.width)
        self.vars = {"points": strokes.points.detach() / POINT_UNIT, "radius": strokes.radius.detach() / RADIUS_UNIT,
                     "colour": strokes.colour.detach().clone(), "opacity": strokes.opacity.detach().clone()}
        self.vars = {k: v.clone().requires_grad_(k in config.optimize) for k, v in self.vars.items()}

    def params(self) -> List[torch.Tensor]:
        return [self.vars[k] for k in PARAMS if k in self.config.optimize]

    def strokes(self) -> Strokes:
        """The current strokes (differentiable in :meth:`params`)."""
        return Strokes(self.vars["points"] * POINT_UNIT, self.count, self.vars["radius"] * RADIUS_UNIT,
                       self.vars["colour"], self.vars["opacity"], self.layer)

    def render(self, view: Any) -> torch.Tensor:
        return composite(self.strokes(), self.height, self.width, self.background)[None]

    def reference(self, view: Any) -> torch.Tensor:
        return self.photo

    def view_key(self, view: Any):
        return "photo"

    def regularizers(self, image: torch.Tensor, view: Any) -> Dict[str, torch.Tensor]:
        if "points" not in self.config.optimize or self.config.xing_weight == 0:
            return {}
        controls = bezier_controls(self.vars["points"] * POINT_UNIT, self.count)
        real = torch.arange(controls.shape[1], device=controls.device)[None, :] < (self.count - 1)[:, None]
        return {"xing": self.config.xing_weight * xing_loss(controls[real])}

    @torch.no_grad()
    def project(self) -> None:
        v, c = self.vars, self.config
        v["colour"].clamp_(0, 1)
        v["opacity"].clamp_(c.min_opacity, 1)
        r0 = self.initial_radius / RADIUS_UNIT
        v["radius"].copy_(torch.maximum(torch.minimum(v["radius"], r0 * c.width_range[1]), r0 * c.width_range[0]))
        pts = v["points"] * POINT_UNIT
        pts[..., 0].clamp_(0, self.width)
        pts[..., 1].clamp_(0, self.height)
        steps = pts[:, 1:] - pts[:, :-1]
        longest = (c.max_step * self.initial_radius)[:, None]
        length = steps.norm(dim=-1)
        steps = steps * (torch.minimum(length, longest) / length.clamp(min=1e-9))[..., None]
        pts = torch.cat([pts[:, :1], pts[:, :1] + steps.cumsum(1)], dim=1)
        v["points"].copy_(pad_points(pts, self.count, pts.shape[1]) / POINT_UNIT)


@dataclass
class StrokeStyleResult:
    """``painting``: the input painting with the optimised strokes and their canvas (``3,H,W`` in [0,1]);
    ``stylization``: the driver's record (losses before and after, steps, Ctrl-C)."""

    painting: Painting
    stylization: StylizationResult

    @property
    def interrupted(self) -> bool:
        return self.stylization.interrupted


def stylize_strokes(painting: Painting, photo: torch.Tensor, style: Union[torch.Tensor, str, os.PathLike], *,
                    steps: int = 100, lr: float = 0.02, budget: int = 0, config: Optional[StrokeStyleConfig] = None,
                    loss: Optional[StyleLossConfig] = None, checkpoint: Optional[Checkpoint] = None,
                    resume: bool = False, progress: bool = False, seed: int = 0, **fields) -> StrokeStyleResult:
    """Optimise the strokes of ``painting`` (painted from ``photo``, ``1,3,H,W`` in [0,1]) toward the style of
    ``style`` (``1,3,h,w`` in [0,1], or an image path read at the photo's long side), keeping the photo's content.

    ``steps`` Adam steps at ``lr``; ``budget``: optimise only the ``budget`` most visible strokes, dropping the
    others (0: all). ``config`` (:class:`StrokeStyleConfig`) and ``loss`` (:class:`StyleLossConfig`, default style
    weight :data:`STROKE_STYLE_WEIGHT`) and/or their fields by plain name (``optimize=("colour",)``,
    ``style_weight=5``). ``checkpoint``/``resume`` continue an interrupted run; Ctrl-C keeps the best strokes so far.
    """
    stroke_fields = {k: fields.pop(k) for k in list(fields) if k in set(field_names(StrokeStyleConfig))}
    config = replace_fields(config or StrokeStyleConfig(), **stroke_fields)
    loss = replace_fields(loss or StyleLossConfig(style_weight=STROKE_STYLE_WEIGHT), **fields)
    config.validate()
    if budget < 0:
        raise ConfigError("budget", f"must be >= 0, got {budget}")
    _, _, h, w = photo.shape
    if not isinstance(style, torch.Tensor):
        style = load_image(style, long_side=max(h, w))
    strokes = painting.strokes
    if budget and budget < len(strokes):
        with torch.no_grad():
            strokes = strokes.select(visible_strokes(strokes, h, w, budget))
    objective = StyleObjective(loss)
    objective.set_style([style], long_side=max(h, w))
    task = StrokeStyleTask(strokes, photo, config, painting.background)
    result = stylize(task, objective, LoopConfig(steps=steps, lr=lr), checkpoint=checkpoint, resume=resume,
                     progress=progress, desc="painting toward the style", seed=seed)
    with torch.no_grad():
        strokes = task.strokes().detach()
        canvas = composite(strokes, h, w, task.background)
    return StrokeStyleResult(dataclasses.replace(painting, strokes=strokes, canvas=canvas), result)
