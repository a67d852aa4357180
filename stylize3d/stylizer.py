"""Stylize a Gaussian splat scene after a style picture (ARF's recipe, adapted to splats).

1. Colour transfer: one affine map ``x ↦ A x + b`` taking the colour statistics of the scene's renders to the
   style picture's (core's ``fit_affine_colour_map``), applied to the SH coefficients so that every view's
   colour moves the same way: ``f_dc' = A f_dc + (A·0.5 + b − 0.5)/C0``, ``f_rest' = A f_rest``.
2. Optimisation with core's loop: each step renders a random training view, and minimises
   ``style_weight · style_loss + content_weight · MSE(VGG(render), VGG(recoloured original render)) + tv_weight · TV``
   (+ L1 pulls of opacity/scales back to the original when those are optimised, + optional SDS).
   Style losses: ``nnfm`` (ARF, VGG relu3_1..relu3_3 concatenated; content on the same features),
   ``gram`` or ``meanstd`` (relu1_1..relu5_1; content on relu4_2). Geometry is frozen by default.
3. The colour transfer again, on the stylized scene.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import torch

from core.colour import apply_affine_colour, fit_affine_colour_map, image_pixels
from core.errors import InputError
from core.losses import content_loss, feature_stats, gram_matrix, gram_style_loss, meanstd_style_loss, nnfm_loss
from core.losses import total_variation
from core.nn.vgg import load_vgg19
from core.optimize import Checkpoint, OptimizeResult, optimize
from stylize3d.cameras import Cameras
from stylize3d.render import render, render_all
from stylize3d.scene import SH_C0, GaussianScene

LOSSES = ("nnfm", "gram", "meanstd")
OPTIMIZE_CHOICES = ("color", "color+opacity", "all")
NNFM_LAYERS = ("relu3_1", "relu3_2", "relu3_3")
GRAM_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
BACKGROUND = (1.0, 1.0, 1.0)


@dataclasses.dataclass
class SceneStyleConfig:
    """Settings of :func:`stylize_scene` (defaults tuned on the bundled scene at 256 px, CPU).

    ``content_weight`` multiplies an MSE of Caffe-scale VGG features: on the bundled scene it grows from ~3e3 to
    ~2e5 within 30 steps while NNFM falls from 0.27 to 0.21, hence its size.
    ``optimize``: ``color`` (SH DC only: view-independent), ``color+opacity``, ``all`` (all SH, opacity, scales).
    """

    steps: int = 150
    size: int = 256
    loss: str = "nnfm"
    style_weight: float = 1.0
    content_weight: float = 2e-7
    tv_weight: float = 1.0
    geometry_weight: float = 0.1
    optimize: str = "color"
    sh_degree: Optional[int] = None
    color_transfer: bool = True
    lr: float = 0.1
    seed: int = 0

    def validate(self) -> None:
        if self.loss not in LOSSES:
            raise InputError(f"unknown --loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        if self.optimize not in OPTIMIZE_CHOICES:
            raise InputError(f"unknown --optimize {self.optimize!r}; choose from {', '.join(OPTIMIZE_CHOICES)}")
        if self.steps < 0:
            raise InputError(f"--steps must be >= 0, got {self.steps}")
        if self.size < 32:
            raise InputError(f"--size {self.size} is too small; use at least 32")
        if self.sh_degree is not None and not 0 <= self.sh_degree <= 3:
            raise InputError(f"--sh-degree must be 0..3, got {self.sh_degree}")
        for name in ("style_weight", "content_weight", "tv_weight", "geometry_weight", "lr"):
            if not getattr(self, name) >= 0:
                raise InputError(f"--{name.replace('_', '-')} must be >= 0")


@dataclasses.dataclass
class SceneStyleResult:
    scene: GaussianScene
    optimization: OptimizeResult
    colour_maps: list  # the (A, b) pairs applied, before and after
    first_terms: dict
    last_terms: dict


def transfer_sh_colours(scene: GaussianScene, A: torch.Tensor, b: torch.Tensor) -> GaussianScene:
    """Apply the affine colour map ``A x + b`` (``3,3``, ``3``) to a scene's SH so that every rendered colour
    ``0.5 + SH(d)`` (before clamping) becomes ``A (0.5 + SH(d)) + b``, from every view direction."""
    A, b = A.to(scene.sh), b.to(scene.sh)
    dc = scene.sh[:, 0] @ A.T + (A @ torch.full_like(b, 0.5) + b - 0.5) / SH_C0
    rest = scene.sh[:, 1:] @ A.T
    return dataclasses.replace(scene, sh=torch.cat([dc[:, None], rest], dim=1))


def fit_scene_colour_map(renders: torch.Tensor, alphas: torch.Tensor, style: torch.Tensor):
    """The affine map from the colours of the covered pixels of ``renders`` to the style picture's colours."""
    covered = image_pixels(renders)[image_pixels(alphas.expand_as(renders))[:, 0] > 0.5]
    if covered.shape[0] < 16:
        raise InputError("the scene covers almost no pixels in these views; check the cameras")
    return fit_affine_colour_map(covered, image_pixels(style))


class _StyleObjective:
    """VGG features of the style and of the original views; evaluates the per-view loss terms."""

    def __init__(self, config: SceneStyleConfig, style: torch.Tensor, device: torch.device):
        self.config = config
        self.encoder = load_vgg19(device)
        if config.loss == "nnfm":
            self.layers, self.content_layer = NNFM_LAYERS, None
        else:
            self.layers, self.content_layer = GRAM_LAYERS, "relu4_2"
        wanted = self.layers + ((self.content_layer,) if self.content_layer else ())
        with torch.no_grad():
            feats = self.encoder(style, wanted)
        if config.loss == "nnfm":
            self.target = torch.cat([feats[name] for name in self.layers], dim=1)
        elif config.loss == "gram":
            self.target = {name: gram_matrix(feats[name])[0] for name in self.layers}
        else:
            self.target = {name: tuple(t[0] for t in feature_stats(feats[name])) for name in self.layers}
        self.wanted = wanted
        self._content_cache: dict = {}

    def _content_features(self, feats: dict) -> torch.Tensor:
        if self.content_layer:
            return feats[self.content_layer]
        return torch.cat([feats[name] for name in self.layers], dim=1)

    def content_target(self, view: int, original: torch.Tensor) -> torch.Tensor:
        if view not in self._content_cache:
            with torch.no_grad():
                self._content_cache[view] = self._content_features(self.encoder(original, self.wanted))
        return self._content_cache[view]

    def terms(self, image: torch.Tensor, view: int, original: torch.Tensor) -> dict:
        feats = self.encoder(image, self.wanted)
        if self.config.loss == "nnfm":
            style = nnfm_loss(torch.cat([feats[name] for name in self.layers], dim=1), self.target)
        elif self.config.loss == "gram":
            style = gram_style_loss(feats, self.target)
        else:
            style = meanstd_style_loss(feats, self.target)
        content = content_loss(self._content_features(feats), self.content_target(view, original))
        return {"style": style, "content": content, "tv": total_variation(image)}


TRAINABLE = {"color": ["sh_dc"], "color+opacity": ["sh_dc", "opacity_logits"],
             "all": ["sh_dc", "sh_rest", "opacity_logits", "log_scales"]}
"""Which parameter groups each ``--optimize`` choice trains (means and rotations are always frozen)."""


def stylize_scene(scene: GaussianScene, cameras: Cameras, style: torch.Tensor, config: SceneStyleConfig,
                  checkpoint: Optional[Checkpoint] = None, resume: bool = False, progress: bool = True,
                  extra_loss: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> SceneStyleResult:
    """Stylize ``scene`` (on its device) seen from ``cameras`` after ``style`` (``1,3,H,W`` in [0,1]).

    ``extra_loss`` (e.g. an SDS loss) is added to the objective on each step's render. Each step renders one
    random camera, so the last parameters are kept (the lowest single-view loss only marks the easiest view),
    also on Ctrl-C, which skips the final colour transfer (``optimization.interrupted``). The camera RNG is
    checkpointed: a resumed run visits the views the uninterrupted run would have.
    """
    config.validate()
    device = scene.device
    width, height = cameras.size_for(config.size)
    degree = scene.sh_degree if config.sh_degree is None else min(config.sh_degree, scene.sh_degree)
    views = render_all(scene, cameras, width, height, BACKGROUND, degree)
    originals, alphas = views.rgb.to(device), views.alpha.to(device)
    maps = []
    current = scene.detached_clone()
    if config.color_transfer:
        maps.append(fit_scene_colour_map(originals, alphas, style))
        current = transfer_sh_colours(current, *maps[-1])
        originals = apply_affine_colour(originals, *maps[-1])  # content targets get the same recolouring (ARF)

    objective = _StyleObjective(config, style, device)
    params = {"sh_dc": current.sh[:, :1].clone(), "sh_rest": current.sh[:, 1:].clone(),
              "opacity_logits": current.opacity_logits.clone(), "log_scales": current.log_scales.clone()}
    trainable = TRAINABLE[config.optimize]
    for name in trainable:
        params[name].requires_grad_(True)
    generator = torch.Generator().manual_seed(config.seed)
    terms_seen: list = []

    def scene_now() -> GaussianScene:
        return dataclasses.replace(current, sh=torch.cat([params["sh_dc"], params["sh_rest"]], dim=1),
                                   opacity_logits=params["opacity_logits"], log_scales=params["log_scales"])

    def loss_fn() -> dict:
        view = int(torch.randint(len(cameras), (1,), generator=generator))
        out = render(scene_now(), cameras[view], width, height, BACKGROUND, degree, backend="auto")
        image = out.rgb.clamp(0, 1)
        terms = objective.terms(image, view, originals[view:view + 1])
        total = (config.style_weight * terms["style"] + config.content_weight * terms["content"]
                 + config.tv_weight * terms["tv"])
        if config.optimize != "color":
            pull = (params["opacity_logits"] - current.opacity_logits).abs().mean()
            pull = pull + (params["log_scales"] - current.log_scales).abs().mean()
            terms["geometry"] = pull
            total = total + config.geometry_weight * pull
        if extra_loss is not None:
            terms["extra"] = extra_loss(image)
            total = total + terms["extra"]
        terms["total"] = total
        terms_seen.append({k: float(v.detach()) for k, v in terms.items()})
        return terms

    result = optimize([params[n] for n in trainable], loss_fn, config.steps, optimizer="adam", lr=config.lr,
                      checkpoint=checkpoint, resume=resume, progress=progress, desc="stylizing scene",
                      keep="last", generator=generator)
    stylized = scene_now().detached_clone()
    if config.color_transfer and not result.interrupted:
        views = render_all(stylized, cameras, width, height, BACKGROUND, degree)
        maps.append(fit_scene_colour_map(views.rgb.to(device), views.alpha.to(device), style))
        stylized = transfer_sh_colours(stylized, *maps[-1])
    return SceneStyleResult(stylized, result, maps, terms_seen[0] if terms_seen else {},
                            terms_seen[-1] if terms_seen else {})
