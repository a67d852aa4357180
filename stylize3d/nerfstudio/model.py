"""The ``stylize-splat`` model: a splatfacto model whose training loss is this toolkit's style objective.

It continues a trained splatfacto model (loaded by :class:`stylize3d.nerfstudio.method.StyleTrainer` from
``--load-dir``) with ARF's recipe as ``stylize scene`` runs it on splats:

1. Before the first step, one affine colour map ``x ↦ A x + b`` from the colours of renders of up to
   ``color_transfer_views`` training cameras (covered pixels) to the style picture's, applied to the SH
   coefficients (:func:`stylize3d.splats.stylize.transfer_sh`), so every view's colour moves the same way.
2. Each step renders one training camera at full size (nerfstudio's gsplat rasterizer on CUDA, our torch
   renderer elsewhere), resizes the render (``1,3,H,W`` in [0,1]) to ``style_long_side`` and minimises what
   ``stylize scene`` minimises on splats: core's :class:`~core.losses.objective.StyleObjective`
   (``weighted_total`` = ``style_weight · style + content_weight · content``; default NNFM on VGG19
   relu3_1..relu3_3, ``style_layers`` and ``relative`` as in :class:`~core.losses.objective.StyleLossConfig`)
   plus :func:`stylize3d.splats.stylize.splat_regularizers` (``tv_weight · TV``). The content reference is the
   training photo recoloured by the same map (ARF recolours its training images). With the geometry frozen
   (default) only ``features_dc`` trains (view-independent colour, as ``stylize scene --optimize color``);
   ``--pipeline.model.freeze-geometry False`` trains all six splatfacto groups with an L1 pull of opacities and
   scales back to their start (``geometry_weight``, the regularisers' ``geometry``). The Gaussians are never
   densified or pruned.
3. On the last step, the colour transfer again on the stylized scene (skipped when training stops early).

The applied maps are kept as buffers (``style_colour_maps`` ``2,3,4`` = ``[A | b]`` before/after,
``style_stage`` 0 = none, 1 = before applied, 2 = both), so a resumed stylize-splat run does not recolour twice
and the trainer can tell a stylize-splat checkpoint from a splatfacto one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Literal, Optional, Tuple, Type

import torch
from nerfstudio.cameras.cameras import Cameras as NerfstudioCameras
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackAttributes, TrainingCallbackLocation
from nerfstudio.models.splatfacto import SplatfactoModel, SplatfactoModelConfig
from torch.nn import Parameter

from core.colour import apply_affine_colour
from core.io.images import load_image, resize_long_side
from core.losses.objective import StyleLossConfig, StyleObjective
from stylize3d.nerfstudio.bridge import SPLATFACTO_PARAMS, nerfstudio_cameras, render_splatfacto
from stylize3d.scene_style import fit_scene_colour_map
from stylize3d.splats.stylize import splat_regularizers, transfer_sh

STAGE_KEY = "style_stage"
"""Buffer name that marks a stylize-splat state (``_model.style_stage`` in a checkpoint's pipeline)."""
COLOUR_GROUPS = ("features_dc",)
STYLE_MAX_SIDE = 1024
"""The style picture is read at most this large (its colour statistics and VGG targets need no more)."""


class NoRefinement:
    """Stands in for splatfacto's densification strategy: the number of Gaussians stays fixed while stylizing."""

    absgrad = False

    def step_pre_backward(self, *args, **kwargs) -> None:
        pass

    def step_post_backward(self, *args, **kwargs) -> None:
        pass


@dataclass
class StyleSplatModelConfig(SplatfactoModelConfig):
    """splatfacto's options plus the style objective's. Splatfacto defaults changed here: no resolution
    schedule (``num_downscales 0``), a white background, and a small random placeholder cloud
    (``random_init``, ``num_random 1000``) that the loaded checkpoint replaces."""

    _target: Type = field(default_factory=lambda: StyleSplatModel)
    style_image: Optional[Path] = None
    """The style picture (PNG/JPEG). Required for training."""
    style_loss: Literal["nnfm", "gram", "meanstd"] = "nnfm"
    """Style loss: nnfm (ARF nearest-neighbour feature matching), gram (Gatys), meanstd (AdaIN statistics)."""
    style_weight: float = 1.0
    """Weight of the style term."""
    content_weight: float = 0.02
    """Weight of the content term (relative VGG feature error against the recoloured training photo)."""
    tv_weight: float = 1.0
    """Weight of the total variation of the render."""
    style_layers: Optional[Tuple[str, ...]] = None
    """VGG19 layers of the style term (default: relu3_1 relu3_2 relu3_3 for nnfm, relu1_1..relu5_1 for gram and
    meanstd)."""
    relative: bool = True
    """Make each layer's term relative to its target's magnitude (so the weights carry over from stylize scene)."""
    style_scale: float = 1.0
    """Style picture size relative to the working size (smaller = finer brush strokes)."""
    style_long_side: int = 512
    """Renders and photos are resized to this long side (pixels) before VGG19; 0 keeps the render's size."""
    freeze_geometry: bool = True
    """Train only the colour (features_dc). False: also means, scales, quats, opacities and features_rest."""
    geometry_weight: float = 0.1
    """L1 pull of opacities and log-scales back to their start values (with --pipeline.model.freeze-geometry False)."""
    color_transfer: bool = True
    """Affine colour transfer of the scene to the style picture before the first and after the last step."""
    color_transfer_views: int = 16
    """Training cameras rendered to fit each colour transfer."""
    renderer: Literal["auto", "gsplat", "torch"] = "auto"
    """auto: nerfstudio's gsplat rasterizer on CUDA, this toolkit's torch renderer elsewhere (no crop box, no
    camera optimizer, no bilateral grid)."""
    background_color: Literal["random", "black", "white"] = "white"
    num_downscales: int = 0
    random_init: bool = True
    num_random: int = 1000


class StyleSplatModel(SplatfactoModel):
    """Splatfacto with the style objective as its loss (see the module docstring)."""

    config: StyleSplatModelConfig

    def populate_modules(self) -> None:
        super().populate_modules()
        self.strategy = NoRefinement()
        self.register_buffer("style_colour_maps", torch.zeros(2, 3, 4))
        self.register_buffer(STAGE_KEY, torch.zeros((), dtype=torch.long))
        self._objective: Optional[StyleObjective] = None
        self._style_picture: Optional[torch.Tensor] = None
        self._geometry_start: Optional[Dict[str, torch.Tensor]] = None

    # -- parameters ----------------------------------------------------------------------------------------------
    def trainable_groups(self) -> tuple:
        return COLOUR_GROUPS if self.config.freeze_geometry else SPLATFACTO_PARAMS

    def _apply_freeze(self) -> None:
        for name, param in self.gauss_params.items():
            param.requires_grad_(name in self.trainable_groups())

    def get_gaussian_param_groups(self) -> Dict[str, List[Parameter]]:
        self._apply_freeze()
        return {name: [self.gauss_params[name]] for name in self.trainable_groups()}

    def load_state_dict(self, dict, **kwargs):  # noqa: A002 - splatfacto's signature
        """Load a splatfacto or stylize-splat state: parameters take the checkpoint's shapes (any SH degree ≥ 1);
        a splatfacto state gets fresh style buffers (nothing applied yet)."""
        features_rest = dict.get("gauss_params.features_rest", dict.get("features_rest"))
        if features_rest is None or features_rest.ndim != 3 or features_rest.shape[1] == 0:
            raise ValueError("stylize-splat needs a splatfacto model with spherical-harmonic colours (SH degree >= 1; "
                             "models trained with --pipeline.model.sh-degree 0 store sigmoid colours)")
        self.config.sh_degree = round((features_rest.shape[1] + 1) ** 0.5) - 1
        for name in SPLATFACTO_PARAMS:
            source = dict.get(f"gauss_params.{name}", dict.get(name))
            if source is not None:
                self.gauss_params[name] = Parameter(torch.zeros_like(source, device=self.device))
        for name in ("style_colour_maps", STAGE_KEY):
            dict.setdefault(name, getattr(self, name).detach().clone())
        super().load_state_dict(dict, **kwargs)
        self._apply_freeze()

    def step_post_backward(self, step) -> None:
        """No densification or pruning while stylizing."""

    # -- rendering -----------------------------------------------------------------------------------------------
    def uses_torch_renderer(self) -> bool:
        if self.config.renderer == "auto":
            return self.device.type != "cuda"
        return self.config.renderer == "torch"

    def _sh_degree(self) -> int:
        return min(self.step // max(self.config.sh_degree_interval, 1), self.config.sh_degree)

    def get_outputs(self, camera: NerfstudioCameras) -> Dict[str, torch.Tensor]:
        """splatfacto's outputs (``rgb`` ``H,W,3`` in [0,1], ``accumulation``, ``depth`` ``H,W,1``,
        ``background``) for one camera, from gsplat (CUDA) or our torch renderer."""
        if not self.uses_torch_renderer():
            return super().get_outputs(camera)
        if camera.shape[0] != 1:
            raise ValueError("stylize-splat renders one camera at a time")
        cameras = nerfstudio_cameras(camera.camera_to_worlds, camera.fx, camera.fy, camera.cx, camera.cy,
                                     camera.width, camera.height).to(self.device)
        background = self._get_background_color()
        out = render_splatfacto(self.gauss_params, cameras, background, self._sh_degree(), backend="torch")
        self.last_size = tuple(out["rgb"].shape[:2])
        if not self.training:
            out["background"] = background.expand(*out["rgb"].shape)
        return out

    # -- the style objective -------------------------------------------------------------------------------------
    def style_picture(self) -> torch.Tensor:
        """The style picture ``1,3,h,w`` in [0,1] on the model's device (read once)."""
        if self._style_picture is None:
            if self.config.style_image is None:
                raise ValueError("no style picture: pass --pipeline.model.style-image STYLE.jpg")
            picture = load_image(self.config.style_image)
            if max(picture.shape[-2:]) > STYLE_MAX_SIDE:
                picture = resize_long_side(picture, STYLE_MAX_SIDE)
            self._style_picture = picture
        return self._style_picture.to(self.device)

    def loss_config(self) -> StyleLossConfig:
        c = self.config
        return StyleLossConfig(kind=c.style_loss, style_weight=c.style_weight, content_weight=c.content_weight,
                               style_layers=c.style_layers, relative=c.relative, style_scale=c.style_scale)

    def _working(self, image: torch.Tensor) -> torch.Tensor:
        side = self.config.style_long_side
        return image if side <= 0 or max(image.shape[-2:]) <= side else resize_long_side(image, side)

    def objective(self, long_side: int) -> StyleObjective:
        """Core's objective with its style targets at ``long_side`` (built on the first call)."""
        if self._objective is None:
            self._objective = StyleObjective(self.loss_config(), self.device).set_style([self.style_picture()],
                                                                                       long_side)
        return self._objective

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, torch.Tensor]:
        """The weighted terms (nerfstudio sums them), each a scalar, on the render resized to ``style_long_side``:
        ``style_content`` (the objective's ``weighted_total``), ``tv`` (+ ``geometry`` when the geometry trains)
        from :func:`splat_regularizers`. The unweighted ``style`` and ``content`` go into ``metrics_dict``
        (detached, so nerfstudio logs them beside the losses) when one is given."""
        photo = self.composite_with_background(self.get_gt_img(batch["image"]), outputs["background"])
        render = outputs["rgb"]
        if "mask" in batch:
            mask = self._downscale_if_required(batch["mask"]).to(self.device)
            photo, render = photo * mask, render * mask
        image = self._working(render.permute(2, 0, 1)[None])
        reference = photo.permute(2, 0, 1)[None].detach()
        if int(self.style_stage) >= 1:
            A, b = self.style_colour_maps[0, :, :3], self.style_colour_maps[0, :, 3]
            reference = apply_affine_colour(reference, A, b)
        reference = self._working(reference)
        objective = self.objective(max(image.shape[-2:]))
        terms = objective.terms(image, reference)
        if metrics_dict is not None:
            metrics_dict.update({name: value.detach() for name, value in terms.items()})
        pulls = () if self.config.freeze_geometry else self._geometry_pulls()
        return {"style_content": objective.weighted_total(terms),
                **splat_regularizers(image, self.config.tv_weight, self.config.geometry_weight, pulls)}

    def _geometry_pulls(self) -> list:
        """``(current, start)`` pairs of the opacity logits ``N,1`` and log-scales ``N,3``, the start being their
        values at the first call of this run."""
        if self._geometry_start is None:
            self._geometry_start = {n: self.gauss_params[n].detach().clone() for n in ("opacities", "scales")}
        return [(self.gauss_params[n], start) for n, start in self._geometry_start.items()]

    # -- colour transfer -----------------------------------------------------------------------------------------
    def get_training_callbacks(self, training_callback_attributes: TrainingCallbackAttributes) -> List[TrainingCallback]:
        callbacks = super().get_training_callbacks(training_callback_attributes)
        if not self.config.color_transfer:
            return callbacks
        cameras = training_callback_attributes.pipeline.datamanager.train_dataset.cameras
        callbacks.append(TrainingCallback([TrainingCallbackLocation.BEFORE_TRAIN_ITERATION], self._transfer_before,
                                          args=[cameras]))
        trainer = getattr(training_callback_attributes, "trainer", None)
        if trainer is not None:
            last = trainer._start_step + trainer.config.max_num_iterations - 1
            callbacks.append(TrainingCallback([TrainingCallbackLocation.AFTER_TRAIN_ITERATION], self._transfer_after,
                                              iters=(last,), args=[cameras]))
        return callbacks

    def _transfer_before(self, cameras: NerfstudioCameras, step: int) -> None:
        if int(self.style_stage) == 0:
            self.colour_transfer(cameras)

    def _transfer_after(self, cameras: NerfstudioCameras, step: int) -> None:
        if int(self.style_stage) == 1:
            self.colour_transfer(cameras)

    @torch.no_grad()
    def colour_transfer(self, cameras: NerfstudioCameras) -> torch.Tensor:
        """Fit the affine map from renders of up to ``color_transfer_views`` of ``cameras`` (evenly spaced) to
        the style picture, apply it to ``features_dc``/``features_rest`` in place and record it as the next
        stage. Returns ``[A | b]`` ``3,4``."""
        stage = int(self.style_stage)
        if stage >= 2:
            raise RuntimeError("both colour transfers are already applied")
        count = min(len(cameras), max(1, self.config.color_transfer_views))
        picks = torch.linspace(0, len(cameras) - 1, count).round().long().unique().tolist()
        was_training = self.training
        self.eval()
        try:
            renders = [self.get_outputs(cameras[i:i + 1].to(self.device)) for i in picks]
        finally:
            self.train(was_training)
        # one row of pixels per view, side by side: the map only needs the covered pixels' colours
        rgb = torch.cat([r["rgb"].reshape(1, -1, 3) for r in renders], dim=1).permute(2, 0, 1)[None]
        alpha = torch.cat([r["accumulation"].reshape(1, -1, 1) for r in renders], dim=1).permute(2, 0, 1)[None]
        A, b = fit_scene_colour_map(rgb, alpha, self.style_picture())
        dc, rest = transfer_sh(self.gauss_params["features_dc"], self.gauss_params["features_rest"], A, b)
        self.gauss_params["features_dc"].copy_(dc)
        self.gauss_params["features_rest"].copy_(rest)
        self.style_colour_maps[stage] = torch.cat([A, b[:, None]], dim=1).to(self.style_colour_maps)
        self.style_stage.fill_(stage + 1)
        return self.style_colour_maps[stage].clone()
