"""Restyle an SVG scene after a painting: render → core image losses → gradients into the scene.

The loop is the toolkit's usual one (:func:`core.optimize.optimize`, Adam): each step renders the scene on
white at ``size`` px, takes the style loss (core Gram, mean/std or NNFM terms, made relative to their
targets as in :mod:`core.image.gatys`) on the full render and on ``crops`` random crops of it, and adds
structure terms: the relative relu4_2 content error against the original render, LIVE's Xing loss against
looped cubics, and optionally a pull of the colours towards a palette. Point shifts, width ratios and
colour ranges are hard bounds (:class:`vector.params.SceneParams`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from core.errors import InputError
from core.image.gatys import CONTENT_LAYER, STYLE_LAYERS, style_grams
from core.losses import content_loss, feature_stats, gram_style_loss, meanstd_style_loss, nnfm_loss
from core.nn.vgg import load_vgg19
from core.optimize import Checkpoint, OptimizeResult, optimize
from vector.flatten import device_points, scene_index, shape_to_device
from vector.model import PARAM_KINDS, Scene
from vector.palette import colour_tensors, image_palette, palette_pull_loss, reduce_palette, snap_to_palette
from vector.params import SceneParams
from vector.raster import render
from vector.regularizers import xing_loss

STYLE_LOSSES = ("gram", "meanstd", "nnfm")
NNFM_LAYERS = ("relu3_1", "relu3_2", "relu3_3")
MIN_SIZE = 32


@dataclass
class RestyleConfig:
    """Settings of :func:`restyle_scene` (the CLI's options)."""

    size: int = 256
    steps: int = 150
    optimize: tuple = ("colors", "points", "widths")
    style_loss: str = "gram"
    style_weight: float = 1.0
    structure_weight: float = 0.5
    xing_weight: float = 0.1
    max_shift: float = 0.03
    """Largest control-point shift as a fraction of the render's diagonal."""
    crops: int = 1
    palette: int = 0
    """Reduce the result to this many colours (k-means over its own colours); 0 = off."""
    palette_from_style: int = 0
    """Pull colours towards this many colours of the style image during optimisation, then snap; 0 = off."""
    palette_weight: float = 1.0
    lr: float = 1.0
    seed: int = 0

    def validate(self) -> None:
        unknown = set(self.optimize) - set(PARAM_KINDS)
        if unknown or not self.optimize:
            raise InputError(f"--optimize takes a comma list of {', '.join(PARAM_KINDS)}; got {','.join(self.optimize) or 'nothing'}")
        if self.style_loss not in STYLE_LOSSES:
            raise InputError(f"unknown style loss {self.style_loss!r}; choose from {', '.join(STYLE_LOSSES)}")
        if self.size < MIN_SIZE or self.size > 2048:
            raise InputError(f"--size {self.size} is out of range; use {MIN_SIZE}..2048")
        if self.steps < 0 or self.crops < 0:
            raise InputError("--steps and --crops must be >= 0")
        if self.palette and self.palette_from_style:
            raise InputError("use either --palette or --palette-from-style, not both")
        if min(self.palette, self.palette_from_style) < 0 or max(self.palette, self.palette_from_style) > 64:
            raise InputError("palette sizes must be in 1..64")
        for name in ("style_weight", "structure_weight", "xing_weight", "max_shift", "palette_weight"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name.replace('_', '-')} must be >= 0")


@dataclass
class RestyleResult:
    """The optimisation record and a few numbers for reports; the scene itself holds the result."""

    optimization: OptimizeResult
    style_loss_initial: float
    style_loss_final: float
    structure_loss_final: float
    palette: Optional[torch.Tensor]
    interrupted: bool


def render_size(scene: Scene, size: int) -> tuple:
    """(width, height) in pixels with the long side ``size`` and the document's aspect ratio."""
    scale = size / max(scene.width, scene.height)
    return max(1, round(scene.width * scale)), max(1, round(scene.height * scale))


def render_on_white(scene: Scene, width: int, height: int) -> torch.Tensor:
    """RGB render ``1,3,H,W`` in [0,1] composited on white."""
    return render(scene, width, height, background=(1.0, 1.0, 1.0))[:, :3]


class _StyleTerm:
    """The chosen style loss with targets from the style image, relative to the targets' magnitude."""

    def __init__(self, kind: str, encoder, style: torch.Tensor, long_side: int):
        self.kind, self.encoder = kind, encoder
        if kind == "gram":
            self.layers = STYLE_LAYERS
            self.targets = style_grams(encoder, [style], STYLE_LAYERS, long_side, 1.0, None)
            self.weights = {k: 1.0 / (len(STYLE_LAYERS) * float(g.pow(2).mean().clamp_min(1e-12))) for k, g in self.targets.items()}
        else:
            self.layers = STYLE_LAYERS if kind == "meanstd" else NNFM_LAYERS
            with torch.no_grad():
                scaled = F.interpolate(style, scale_factor=long_side / max(style.shape[-2:]), mode="bilinear", align_corners=False)
                feats = encoder(scaled.clamp(0, 1), self.layers)
            if kind == "meanstd":
                self.targets = {k: tuple(s[0] for s in feature_stats(f)) for k, f in feats.items()}
                self.weights = {k: 1.0 / (len(self.layers) * float((m.pow(2).mean() + s.pow(2).mean()).clamp_min(1e-12)))
                                for k, (m, s) in self.targets.items()}
            else:
                self.targets = feats

    def __call__(self, feats: dict) -> torch.Tensor:
        if self.kind == "gram":
            return gram_style_loss({k: feats[k] for k in self.layers}, self.targets, self.weights)
        if self.kind == "meanstd":
            return meanstd_style_loss({k: feats[k] for k in self.layers}, self.targets, self.weights)
        return sum(nnfm_loss(feats[k], self.targets[k]) for k in self.layers) / len(self.layers)


def _random_crop(image: torch.Tensor, generator: torch.Generator, out_size: tuple) -> torch.Tensor:
    """A random square-ish crop covering 50–100% of the short side, resized to ``out_size``."""
    h, w = image.shape[-2:]
    side = int(min(h, w) * (0.5 + 0.5 * torch.rand(1, generator=generator).item()))
    y = int(torch.randint(0, h - side + 1, (1,), generator=generator))
    x = int(torch.randint(0, w - side + 1, (1,), generator=generator))
    return F.interpolate(image[..., y : y + side, x : x + side], size=out_size, mode="bilinear", align_corners=False)


def restyle_scene(
    scene: Scene,
    style: torch.Tensor,
    config: RestyleConfig = RestyleConfig(),
    extra_loss: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    checkpoint: Optional[Checkpoint] = None,
    resume: bool = False,
    progress: bool = True,
) -> RestyleResult:
    """Optimise ``scene`` in place towards the style of ``style`` (``1,3,h,w`` in [0,1]).

    ``extra_loss(render) -> scalar`` adds a term on each full render (e.g. a diffusion prior). When this returns
    (also after Ctrl-C) the scene's tensors hold the lowest-loss values seen, or the last values when the
    objective is stochastic (random crops or an extra loss such as SDS), where a low single loss means little.
    """
    config.validate()
    if not scene.shapes:
        raise InputError("the SVG has no shapes that can be rendered (nothing to restyle)")
    params = SceneParams(scene, config.optimize, *render_size(scene, config.size),
                         max_shift_px=config.max_shift * math.hypot(*render_size(scene, config.size)))
    if not params.vars:
        raise InputError(f"nothing to optimise: the SVG has no editable {', '.join(config.optimize)}")
    device = params.vars[0].delta.device
    width, height = render_size(scene, config.size)
    if min(width, height) < 16:
        raise InputError(f"the render would be {width}x{height} px; raise --size so its short side is at least 16 px")
    encoder = load_vgg19(device)
    style_term = _StyleTerm(config.style_loss, encoder, style.to(device), config.size)
    layers = list(dict.fromkeys([*style_term.layers, CONTENT_LAYER]))
    with torch.no_grad():
        original = render_on_white(scene, width, height)
        content_target = encoder(original, [CONTENT_LAYER])[CONTENT_LAYER]
    content_scale = 1.0 / float(content_target.pow(2).mean().clamp_min(1e-12))
    pull_palette = image_palette(style, config.palette_from_style, config.seed).to(device) if config.palette_from_style else None
    generator = torch.Generator().manual_seed(config.seed)
    index = scene_index(scene)

    def loss_fn():
        params.apply()
        image = render_on_white(scene, width, height)
        feats = encoder(image, layers)
        style_value = style_term(feats)
        for _ in range(config.crops):
            style_value = style_value + style_term(encoder(_random_crop(image, generator, (height, width)), style_term.layers))
        style_value = style_value / (1 + config.crops)
        structure = content_scale * content_loss(feats[CONTENT_LAYER], content_target)
        terms = {"style": style_value, "structure": structure}
        total = config.style_weight * style_value + config.structure_weight * structure
        if "points" in config.optimize and config.xing_weight > 0:
            ctrl = device_points(scene, shape_to_device(scene, width, height))[index.segments.to(device)]
            terms["xing"] = xing_loss(ctrl)
            total = total + config.xing_weight * terms["xing"]
        if pull_palette is not None:
            terms["palette"] = palette_pull_loss(colour_tensors(scene), pull_palette)
            total = total + config.palette_weight * terms["palette"]
        if extra_loss is not None:
            terms["extra"] = extra_loss(image)
            total = total + terms["extra"]
        terms["total"] = total
        return terms

    initial = {k: float(v.detach()) for k, v in loss_fn().items()}
    result = optimize(params.leaves, loss_fn, config.steps, optimizer="adam", lr=config.lr, project=params.project,
                      checkpoint=checkpoint, resume=resume, progress=progress, desc="restyling svg",
                      keep="last" if config.crops > 0 or extra_loss is not None else "best", generator=generator)
    params.finish()
    palette = None
    if config.palette_from_style:
        snap_to_palette(scene, pull_palette)
        palette = pull_palette
    elif config.palette:
        palette = reduce_palette(scene, config.palette, config.seed)
    with torch.no_grad():
        final_image = render_on_white(scene, width, height)
        feats = encoder(final_image, layers)
        final_style = float(style_term(feats))
        final_structure = float(content_scale * content_loss(feats[CONTENT_LAYER], content_target))
    return RestyleResult(result, initial["style"], final_style, final_structure, palette, result.interrupted)
