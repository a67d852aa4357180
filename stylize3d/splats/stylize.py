"""Stylize Gaussian splats after a style picture (ARF's recipe, adapted to splats) on core's driver.

1. Colour transfer: one affine map ``x ↦ A x + b`` taking the colour statistics of the scene's renders to the
   style picture's (:func:`stylize3d.scene_style.fit_scene_colour_map`), applied to the SH coefficients so that
   every view's colour moves the same way: ``f_dc' = A f_dc + (A·0.5 + b − 0.5)/C0``, ``f_rest' = A f_rest``.
2. :class:`SplatStyleTask` on :func:`core.stylization.stylize`: each step renders a random training view and
   minimises the shared objective (default NNFM on relu3_1..relu3_3 concatenated, content against the
   recoloured original render, both as in :mod:`core.losses.objective`) + :func:`splat_regularizers` (image TV,
   and L1 pulls of opacity/scales back to the original when those are optimised) + extra terms such as SDS.
   Geometry (means, rotations) is always frozen.
3. The colour transfer again, on the stylized scene (skipped after Ctrl-C).

What only splats have (which parameter groups train, the SH degree rendered) is :class:`SplatStyleOptions`;
the settings every representation shares are :class:`stylize3d.scene_style.SceneStyleConfig`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from core.colour import apply_affine_colour
from core.errors import ConfigError
from core.losses import total_variation
from core.losses.objective import StyleObjective
from stylize3d.cameras import Cameras
from stylize3d.scene_style import BACKGROUND, SceneStyleConfig, SceneStyleResult, fit_scene_colour_map
from stylize3d.sh import SH_C0
from stylize3d.splats.render import render, render_all
from stylize3d.splats.scene import GaussianScene

OPTIMIZE_CHOICES = ("color", "color+opacity", "all")
TRAINABLE = {"color": ["sh_dc"], "color+opacity": ["sh_dc", "opacity_logits"],
             "all": ["sh_dc", "sh_rest", "opacity_logits", "log_scales"]}
"""Which parameter groups each ``optimize`` choice trains (means and rotations are always frozen)."""


@dataclass
class SplatStyleOptions:
    """The splat-only settings of a scene stylization (``stylize scene`` flags; ignored for other representations)."""

    optimize: str = field(default="color", metadata={
        "help": "splats: parameters to train: color (view-independent SH DC), color+opacity, all (SH, opacity, scales)",
        "choices": OPTIMIZE_CHOICES})
    geometry_weight: float = field(default=0.1, metadata={
        "help": "splats: L1 pull of opacity/scales back to the original (with --optimize color+opacity|all)"})
    sh_degree: Optional[int] = field(default=None, metadata={
        "help": "splats: SH degree used for rendering (0-3; default: the scene's)"})

    def validate(self) -> None:
        if self.optimize not in OPTIMIZE_CHOICES:
            raise ConfigError("optimize", f"unknown {self.optimize!r}; choose from {', '.join(OPTIMIZE_CHOICES)}")
        if self.sh_degree is not None and not 0 <= self.sh_degree <= 3:
            raise ConfigError("sh_degree", f"must be 0..3, got {self.sh_degree}")
        if not self.geometry_weight >= 0:
            raise ConfigError("geometry_weight", f"must be >= 0, got {self.geometry_weight}")

    def degree(self, scene: GaussianScene) -> int:
        """The SH degree ``scene`` is rendered with: the scene's own, capped by ``sh_degree``."""
        return scene.sh_degree if self.sh_degree is None else min(self.sh_degree, scene.sh_degree)


def transfer_sh(dc: torch.Tensor, rest: torch.Tensor, A: torch.Tensor, b: torch.Tensor
                ) -> "tuple[torch.Tensor, torch.Tensor]":
    """The affine colour map ``A x + b`` (``3,3``, ``3``) on SH coefficients: ``dc`` ``N,3`` (degree 0) and
    ``rest`` ``N,K-1,3`` (higher degrees, may be empty) become ``A dc + (A·0.5 + b − 0.5)/C0`` and ``A rest``,
    so that every rendered colour ``0.5 + SH(d)`` (before clamping) becomes ``A (0.5 + SH(d)) + b``."""
    A, b = A.to(dc), b.to(dc)
    return dc @ A.T + (A @ torch.full_like(b, 0.5) + b - 0.5) / SH_C0, rest @ A.T


def transfer_sh_colours(scene: GaussianScene, A: torch.Tensor, b: torch.Tensor) -> GaussianScene:
    """:func:`transfer_sh` on a scene's SH: the same colour change from every view direction."""
    dc, rest = transfer_sh(scene.sh[:, 0], scene.sh[:, 1:], A, b)
    return dataclasses.replace(scene, sh=torch.cat([dc[:, None], rest], dim=1))


def splat_regularizers(image: torch.Tensor, tv_weight: float, geometry_weight: float = 0.0,
                       pulls: Sequence[Tuple[torch.Tensor, torch.Tensor]] = ()) -> Dict[str, torch.Tensor]:
    """The already-weighted regularisers of a splat stylization step: ``tv`` = ``tv_weight · TV(image)`` (``image``
    ``1,3,H,W``) and, when ``pulls`` are given, ``geometry`` = ``geometry_weight · Σ mean|current − start|`` over
    the ``(current, start)`` pairs (raw opacity logits and log-scales). The ``stylize-splat`` nerfstudio model uses
    the same terms."""
    terms = {"tv": tv_weight * total_variation(image)}
    if pulls:
        terms["geometry"] = geometry_weight * sum((current - start).abs().mean() for current, start in pulls)
    return terms


class SplatStyleTask:
    """The splat front end on :func:`core.stylization.stylize`: one random training camera per step.

    ``scene``: the (recoloured) starting scene; ``originals``: its renders ``N,3,H,W`` in [0,1] from ``cameras``
    (the content references); ``style``: ``1,3,h,w`` in [0,1] (None when editing by text: no final colour
    transfer). Trains the parameter groups of ``TRAINABLE[options.optimize]``.
    """

    stochastic = True

    def __init__(self, scene: GaussianScene, cameras: Cameras, originals: torch.Tensor, style: Optional[torch.Tensor],
                 config: SceneStyleConfig, options: SplatStyleOptions, maps: list):
        self.start, self.cameras, self.originals, self.style = scene, cameras, originals, style
        self.config, self.options, self.maps = config, options, maps
        self.width, self.height = cameras.size_for(config.size)
        self.degree = options.degree(scene)
        self.vars = {"sh_dc": scene.sh[:, :1].clone(), "sh_rest": scene.sh[:, 1:].clone(),
                     "opacity_logits": scene.opacity_logits.clone(), "log_scales": scene.log_scales.clone()}
        self.trainable = TRAINABLE[options.optimize]
        for name in self.trainable:
            self.vars[name].requires_grad_(True)

    def scene(self) -> GaussianScene:
        """The scene with the current parameter values (differentiable in them)."""
        return dataclasses.replace(self.start, sh=torch.cat([self.vars["sh_dc"], self.vars["sh_rest"]], dim=1),
                                   opacity_logits=self.vars["opacity_logits"], log_scales=self.vars["log_scales"])

    def params(self) -> List[torch.Tensor]:
        return [self.vars[n] for n in self.trainable]

    def sample_view(self, generator: torch.Generator) -> int:
        return int(torch.randint(len(self.cameras), (1,), generator=generator))

    def render(self, view: int) -> torch.Tensor:
        out = render(self.scene(), self.cameras[view], self.width, self.height, BACKGROUND, self.degree, backend="auto")
        return out.rgb.clamp(0, 1)

    def reference(self, view: int) -> torch.Tensor:
        return self.originals[view:view + 1]

    def view_key(self, view: int) -> int:
        return view

    def regularizers(self, image: torch.Tensor, view: int) -> dict:
        pulls = () if self.options.optimize == "color" else (
            (self.vars["opacity_logits"], self.start.opacity_logits), (self.vars["log_scales"], self.start.log_scales))
        return splat_regularizers(image, self.config.tv_weight, self.options.geometry_weight, pulls)

    def project(self) -> None:
        pass

    def finish(self, interrupted: bool) -> None:
        """The final colour transfer (not after an interruption: the scene is kept as of the last step)."""
        if not self.config.color_transfer or interrupted or self.style is None:
            return
        with torch.no_grad():
            stylized = self.scene().detached_clone()
            views = render_all(stylized, self.cameras, self.width, self.height, BACKGROUND, self.degree)
            self.maps.append(fit_scene_colour_map(views.rgb.to(stylized.device), views.alpha.to(stylized.device), self.style))
            recoloured = transfer_sh_colours(stylized, *self.maps[-1])
            self.vars["sh_dc"].copy_(recoloured.sh[:, :1])
            self.vars["sh_rest"].copy_(recoloured.sh[:, 1:])

    def result(self, stylization) -> SceneStyleResult:
        """The stylized scene (detached) with the driver's result and the colour maps applied."""
        return SceneStyleResult(self.scene().detached_clone(), stylization, self.maps, self.cameras)


def _original_renders(scene: GaussianScene, cameras: Cameras, config: SceneStyleConfig, options: SplatStyleOptions):
    width, height = cameras.size_for(config.size)
    views = render_all(scene, cameras, width, height, BACKGROUND, options.degree(scene))
    return views.rgb.to(scene.device), views.alpha.to(scene.device)


def splat_style_task(scene: GaussianScene, cameras: Cameras, style: torch.Tensor, config: SceneStyleConfig,
                     options: SplatStyleOptions) -> Tuple[SplatStyleTask, StyleObjective]:
    """Step 1 of the recipe and what step 2 runs on: the :class:`SplatStyleTask` of ``scene`` seen from
    ``cameras`` (recoloured to ``style``, ``1,3,h,w`` in [0,1], with ``config.color_transfer``) and the objective
    with ``style``'s targets at the working size."""
    originals, alphas = _original_renders(scene, cameras, config, options)
    maps: list = []
    current = scene.detached_clone()
    if config.color_transfer:
        maps.append(fit_scene_colour_map(originals, alphas, style))
        current = transfer_sh_colours(current, *maps[-1])
        originals = apply_affine_colour(originals, *maps[-1])  # content targets get the same recolouring (ARF)
    task = SplatStyleTask(current, cameras, originals, style, config, options, maps)
    return task, StyleObjective(config.loss, scene.device).set_style([style], max(task.width, task.height))


def splat_edit_task(scene: GaussianScene, cameras: Cameras, config: SceneStyleConfig, options: SplatStyleOptions
                    ) -> Tuple[SplatStyleTask, torch.Tensor]:
    """The task that edits ``scene`` by text (no style picture, no colour transfer) and its starting renders
    ``N,3,H,W`` in [0,1] at ``config.size`` (the originals the edits are conditioned on)."""
    originals, _ = _original_renders(scene, cameras, config, options)
    return SplatStyleTask(scene.detached_clone(), cameras, originals, None, config, options, []), originals
