"""The per-view 2D baseline of a 3D stylization (``stylize metrics-3d --baseline per-view``): every rendered view
stylized on its own in 2D, the baseline 3D stylization papers compare their consistency against.

It is the 3D recipe (:mod:`stylize3d.scene_style`) with the 3D scene taken away, so that the only difference is
that no view knows the others:

1. colour transfer (with ``config.color_transfer``): one affine map from the covered pixels of all the frames to
   the style picture (:func:`~stylize3d.scene_style.fit_scene_colour_map`), applied to every frame;
2. each frame optimised alone as an image (:class:`core.image.gatys.ImageTask`: its pixels are the parameters,
   clamped to [0,1]) from its recoloured render, on :func:`core.stylization.stylize` with the same objective as
   the 3D stylization (``config.loss``: NNFM on relu3_x + content against the recoloured render by default) plus
   ``config.tv_weight · TV(image)``, for ``config.loop.steps`` steps of its optimiser and learning rate (so each
   view gets as many steps as the whole 3D stylization), seed ``config.seed``;
3. colour transfer again: one map from the covered pixels of all the stylized frames to the style.
"""

from __future__ import annotations

import torch

from core.colour import apply_affine_colour
from core.image.gatys import ImageTask
from core.losses.objective import StyleObjective
from core.stylization import stylize
from stylize3d.scene_style import SceneStyleConfig, fit_scene_colour_map


class _FrameTask(ImageTask):
    """One frame as the parameter, its content reference the frame it starts from; ``index`` keys its content
    features in the objective shared by all frames."""

    def __init__(self, start: torch.Tensor, index: int, tv_weight: float):
        super().__init__(start, start.detach().clone(), tv_weight=tv_weight)
        self.index = index

    def view_key(self, view=None) -> int:
        return self.index


def stylize_per_view(frames: torch.Tensor, alphas: torch.Tensor, style: torch.Tensor, config: SceneStyleConfig,
                     progress: bool = True) -> torch.Tensor:
    """``frames`` (``N,3,H,W`` in [0,1], renders of a scene whose covered pixels are ``alphas`` ``N,1,H,W`` > 0.5)
    stylized one by one after ``style`` (``1,3,h,w`` in [0,1]) by the recipe of the module docstring; returns
    ``N,3,H,W`` in [0,1]."""
    config.validate()
    device = frames.device
    starts = frames.clamp(0, 1)
    if config.color_transfer:
        starts = apply_affine_colour(starts, *fit_scene_colour_map(starts, alphas, style)).clamp(0, 1)
    objective = StyleObjective(config.loss, device).set_style([style.to(device)], max(frames.shape[-2:]))
    out = []
    for i in range(len(frames)):
        task = _FrameTask(starts[i:i + 1], i, config.tv_weight)
        stylize(task, objective, config.loop, progress=progress, desc=f"per-view baseline {i + 1}/{len(frames)}",
                seed=config.seed)
        out.append(task.render().detach().clamp(0, 1))
    stylized = torch.cat(out)
    if config.color_transfer:
        stylized = apply_affine_colour(stylized, *fit_scene_colour_map(stylized, alphas, style)).clamp(0, 1)
    return stylized
