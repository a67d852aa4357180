"""Stylize a Gaussian splat scene after a style picture (ARF's recipe, adapted to splats) on core's driver.

1. Colour transfer: one affine map ``x ↦ A x + b`` taking the colour statistics of the scene's renders to the
   style picture's (core's ``fit_affine_colour_map``), applied to the SH coefficients so that every view's
   colour moves the same way: ``f_dc' = A f_dc + (A·0.5 + b − 0.5)/C0``, ``f_rest' = A f_rest``.
2. :class:`SplatStyleTask` on :func:`core.stylization.stylize`: each step renders a random training view and
   minimises the shared objective (default NNFM on relu3_1..relu3_3 concatenated, content against the
   recoloured original render, both as in :mod:`core.losses.objective`) + ``tv_weight · TV`` (+ L1 pulls of
   opacity/scales back to the original when those are optimised, + extra terms such as SDS). Geometry
   (means, rotations) is always frozen.
3. The colour transfer again, on the stylized scene (skipped after Ctrl-C).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import torch

from core.colour import apply_affine_colour, fit_affine_colour_map, image_pixels
from core.errors import ConfigError, InputError
from core.losses import total_variation
from core.losses.objective import StyleLossConfig, StyleObjective
from core.optimize import Checkpoint
from core.stylization import LoopConfig, StylizationResult, Term, stylize
from stylize3d.cameras import Cameras
from stylize3d.splats.render import render, render_all
from stylize3d.splats.scene import SH_C0, GaussianScene

OPTIMIZE_CHOICES = ("color", "color+opacity", "all")
BACKGROUND = (1.0, 1.0, 1.0)
TRAINABLE = {"color": ["sh_dc"], "color+opacity": ["sh_dc", "opacity_logits"],
             "all": ["sh_dc", "sh_rest", "opacity_logits", "log_scales"]}
"""Which parameter groups each ``optimize`` choice trains (means and rotations are always frozen)."""


@dataclass
class SceneStyleConfig:
    """Settings of :func:`stylize_scene` (defaults tuned on the bundled scene at 128–256 px, CPU).

    The content weight multiplies the relative feature error (:mod:`core.losses.objective`); 0.02 equals the
    earlier absolute weight 2e-7 on the bundled scene at 256 px, where ``mean(F²)`` of relu3_x is ≈ 1e5.
    """

    loss: StyleLossConfig = field(default_factory=lambda: StyleLossConfig(kind="nnfm", content_weight=0.02))
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(steps=150, optimizer="adam", lr=0.1))
    size: int = field(default=256, metadata={"help": "long side of training renders in pixels"})
    tv_weight: float = field(default=1.0, metadata={"help": "image total-variation weight"})
    optimize: str = field(default="color", metadata={
        "help": "parameters to train: color (view-independent SH DC), color+opacity, all (SH, opacity, scales)",
        "choices": OPTIMIZE_CHOICES})
    geometry_weight: float = field(default=0.1, metadata={
        "help": "L1 pull of opacity/scales back to the original (with --optimize color+opacity|all)"})
    sh_degree: Optional[int] = field(default=None, metadata={"help": "SH degree used for rendering (0-3; default: the scene's)"})
    color_transfer: bool = field(default=True, metadata={"help": "affine colour transfer to the style before and after"})
    seed: int = field(default=0, metadata={"help": "random seed (view order); same seed, same result on CPU"})

    def validate(self) -> None:
        self.loss.validate()
        self.loop.validate()
        if self.optimize not in OPTIMIZE_CHOICES:
            raise ConfigError("optimize", f"unknown {self.optimize!r}; choose from {', '.join(OPTIMIZE_CHOICES)}")
        if self.size < 32:
            raise ConfigError("size", f"{self.size} is too small; use at least 32")
        if self.sh_degree is not None and not 0 <= self.sh_degree <= 3:
            raise ConfigError("sh_degree", f"must be 0..3, got {self.sh_degree}")
        for name in ("tv_weight", "geometry_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(name, f"must be >= 0, got {getattr(self, name)}")


@dataclass
class SceneStyleResult:
    scene: GaussianScene
    stylization: StylizationResult
    colour_maps: list  # the (A, b) pairs applied, before and after

    @property
    def optimization(self):
        return self.stylization.optimization


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


def fit_scene_colour_map(renders: torch.Tensor, alphas: torch.Tensor, style: torch.Tensor):
    """The affine map from the colours of the covered pixels of ``renders`` to the style picture's colours."""
    covered = image_pixels(renders)[image_pixels(alphas.expand_as(renders))[:, 0] > 0.5]
    if covered.shape[0] < 16:
        raise InputError("the scene covers almost no pixels in these views; check the cameras")
    return fit_affine_colour_map(covered, image_pixels(style))


class SplatStyleTask:
    """The splat front end on :func:`core.stylization.stylize`: one random training camera per step.

    ``scene``: the (recoloured) starting scene; ``originals``: its renders ``N,3,H,W`` in [0,1] from ``cameras``
    (the content references). Trains the parameter groups of ``TRAINABLE[config.optimize]``.
    """

    stochastic = True

    def __init__(self, scene: GaussianScene, cameras: Cameras, originals: torch.Tensor, style: torch.Tensor,
                 config: SceneStyleConfig, maps: list):
        self.start, self.cameras, self.originals, self.style = scene, cameras, originals, style
        self.config, self.maps = config, maps
        self.width, self.height = cameras.size_for(config.size)
        self.degree = scene.sh_degree if config.sh_degree is None else min(config.sh_degree, scene.sh_degree)
        self.vars = {"sh_dc": scene.sh[:, :1].clone(), "sh_rest": scene.sh[:, 1:].clone(),
                     "opacity_logits": scene.opacity_logits.clone(), "log_scales": scene.log_scales.clone()}
        self.trainable = TRAINABLE[config.optimize]
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
        terms = {"tv": self.config.tv_weight * total_variation(image)}
        if self.config.optimize != "color":
            pull = (self.vars["opacity_logits"] - self.start.opacity_logits).abs().mean()
            pull = pull + (self.vars["log_scales"] - self.start.log_scales).abs().mean()
            terms["geometry"] = self.config.geometry_weight * pull
        return terms

    def project(self) -> None:
        pass

    def finish(self, interrupted: bool) -> None:
        """The final colour transfer (not after an interruption: the scene is kept as of the last step)."""
        if not self.config.color_transfer or interrupted:
            return
        with torch.no_grad():
            stylized = self.scene().detached_clone()
            views = render_all(stylized, self.cameras, self.width, self.height, BACKGROUND, self.degree)
            self.maps.append(fit_scene_colour_map(views.rgb.to(stylized.device), views.alpha.to(stylized.device), self.style))
            recoloured = transfer_sh_colours(stylized, *self.maps[-1])
            self.vars["sh_dc"].copy_(recoloured.sh[:, :1])
            self.vars["sh_rest"].copy_(recoloured.sh[:, 1:])


def stylize_scene(scene: GaussianScene, cameras: Cameras, style: torch.Tensor, config: Optional[SceneStyleConfig] = None,
                  checkpoint: Optional[Checkpoint] = None, resume: bool = False, progress: bool = True,
                  terms: Sequence[Term] = ()) -> SceneStyleResult:
    """Stylize ``scene`` (on its device) seen from ``cameras`` after ``style`` (``1,3,H,W`` in [0,1]).

    ``terms`` (e.g. an SDS term) are added to the objective on each step's render. Each step renders one
    random camera, so the last parameters are kept, also on Ctrl-C, which skips the final colour transfer
    (``stylization.interrupted``). The camera RNG is checkpointed: a resumed run visits the same views.
    """
    config = config or SceneStyleConfig()
    config.validate()
    device = scene.device
    width, height = cameras.size_for(config.size)
    degree = scene.sh_degree if config.sh_degree is None else min(config.sh_degree, scene.sh_degree)
    views = render_all(scene, cameras, width, height, BACKGROUND, degree)
    originals, alphas = views.rgb.to(device), views.alpha.to(device)
    maps: list = []
    current = scene.detached_clone()
    if config.color_transfer:
        maps.append(fit_scene_colour_map(originals, alphas, style))
        current = transfer_sh_colours(current, *maps[-1])
        originals = apply_affine_colour(originals, *maps[-1])  # content targets get the same recolouring (ARF)
    task = SplatStyleTask(current, cameras, originals, style, config, maps)
    objective = StyleObjective(config.loss, device).set_style([style], max(width, height))
    result = stylize(task, objective, config.loop, terms, checkpoint=checkpoint, resume=resume, progress=progress,
                     desc="stylizing scene", seed=config.seed)
    return SceneStyleResult(task.scene().detached_clone(), result, maps)
