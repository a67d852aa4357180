"""Stylize a radiance field after a style picture: ARF's recipe on core's driver, with deferred back-propagation.

1. The colour grid is reduced to SH degree 0 (view-independent colour, as ARF does) and the density frozen.
2. Colour transfer: the affine map ``x ↦ A x + b`` taking the colours of the covered pixels of the training
   renders to the style's (``core.colour``) is applied to every voxel's colour,
   ``c' = clamp(A sigmoid(k) + b)``, ``k' = logit(c')``. Per-sample colours are composited linearly, so a
   pixel whose samples sit at grid points moves by the same map; between grid points the sigmoid of interpolated
   logits is not affine, and voxels mapped out of [0,1] are clamped before compositing rather than after, so
   on a real fit the recoloured field's pixels can differ from the recoloured renders by 0.1 or more
   (BENCHMARKS.md, field stylization, session 6). The content references are the recoloured renders.
3. :class:`FieldStyleTask` on :func:`core.stylization.stylize`: a random training view per step, the shared
   objective (NNFM on relu3_x + content by default) + ``tv_weight · TV(image)``; only the colour grid trains
   (as ``colour / LEAF_SCALE``, so that ``lr`` moves colours as fast as it does for splats).
4. The colour transfer again on the stylized field (skipped after Ctrl-C).

Deferred back-propagation (ARF): :class:`DeferredRender` renders the whole view without autograd; its backward
receives the pixel gradient of the full-image loss and renders the view again ray chunk by ray chunk with
autograd, pushing each chunk's slice of that gradient into the colour grid. Memory is one chunk's graph plus the
images and the step's rays (and the kept samples, a fixed budget of ``SAMPLE_CACHE_BYTES``), whatever the image
size.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import List, Optional, Tuple

import torch

from core.colour import apply_affine_colour
from core.losses import total_variation
from core.losses.objective import StyleObjective
from stylize3d.cameras import Cameras
from stylize3d.fields.frozen_samples import FrozenSampleCache
from stylize3d.fields.grid import RadianceField
from stylize3d.fields.render import Rays, camera_rays, composite, render_field
from stylize3d.sh import SH_C0
from stylize3d.scene_style import BACKGROUND, SceneStyleConfig, SceneStyleResult, fit_scene_colour_map

COLOUR_STATS_SIZE = 256
"""Long side of the renders the final colour transfer fits its map on: the colour statistics of every training
view barely change with resolution, while rendering them all at 512 px costs 4x the time and memory."""
STYLIZE_CHUNK_RAYS = 1024
"""Rays per chunk of the stylization's renders (a quarter of a plain render's): a smaller graph at a time; on
the benchmark field the peak RSS was 0.13 GiB lower at 256 px and 0.07 GiB at 512 px, steps no slower
(BENCHMARKS.md, field stylization, session 7)."""
SAMPLE_CACHE_BYTES = 768 * 2 ** 20
"""Memory the stylization keeps the training views' frozen-density samples in (12 bytes per shaded sample)."""
COLOUR_EPS = 1e-3
"""Recoloured voxel colours are clamped to [eps, 1 - eps] before the logit."""
LEAF_SCALE = 4.0
"""The colour grid trains as the leaf ``colour / LEAF_SCALE``. A voxel's colour is ``sigmoid(C0 · colour)``, whose
slope at mid-grey is ``C0 / 4``; a splat's is ``0.5 + C0 · f_dc`` (slope ``C0``). Scaled so, one optimiser step
moves a mid-grey voxel as far as it moves a splat, and the shared ``lr`` means the same for both."""


def to_degree0(field: RadianceField) -> RadianceField:
    """The field with its colour reduced to SH degree 0: the view-averaged colour (``sigmoid`` of the DC term)."""
    if field.sh_degree == 0:
        return field.detached_clone()
    return dataclasses.replace(field.detached_clone(), colour=field.colour[:, :3].detach().clone())


def transfer_field_colours(field: RadianceField, A: torch.Tensor, b: torch.Tensor) -> RadianceField:
    """Apply ``A x + b`` (``3,3``, ``3``) to every voxel colour of a degree-0 field."""
    if field.sh_degree != 0:
        raise ValueError("colour transfer is defined for degree-0 fields; call to_degree0 first")
    colour = torch.sigmoid(field.colour.detach() * SH_C0)
    mapped = torch.einsum("ij,bjdhw->bidhw", A.to(colour), colour) + b.to(colour).view(1, 3, 1, 1, 1)
    mapped = mapped.clamp(COLOUR_EPS, 1 - COLOUR_EPS)
    return dataclasses.replace(field, colour=torch.logit(mapped) / SH_C0)


class DeferredRender(torch.autograd.Function):
    """``image = DeferredRender.apply(render_part, parts, height, width, colour)``: ``1,3,H,W``.

    ``render_part(i, colour) -> rgb N_i,3`` renders the ``i``-th of ``parts`` consecutive slices of the view's rays
    (pixel order) with the colour grid ``colour``; forward calls it under ``no_grad`` for every part, backward again
    part by part with autograd and returns ``Σ_i ∂rgb_i/∂colour · grad_i``.
    """

    @staticmethod
    def forward(ctx, render_part, parts: int, height: int, width: int, colour: torch.Tensor):
        with torch.no_grad():
            rgb = [render_part(i, colour) for i in range(parts)]
        ctx.render_part, ctx.sizes = render_part, [len(part) for part in rgb]
        ctx.save_for_backward(colour)
        return torch.cat(rgb).T.reshape(1, 3, height, width)

    @staticmethod
    def backward(ctx, grad_image):
        (colour,) = ctx.saved_tensors
        grads = grad_image[0].reshape(3, -1).T.split(ctx.sizes)
        grad_colour = torch.zeros_like(colour)
        with torch.enable_grad():
            leaf = colour.detach().requires_grad_(True)
            for i, grad in enumerate(grads):
                ctx.render_part(i, leaf).backward(grad)
            if leaf.grad is not None:
                grad_colour += leaf.grad
        return None, None, None, None, grad_colour


class FieldStyleTask:
    """The radiance-field front end on :func:`core.stylization.stylize`: a random training view per step; the
    colour grid trains (as the leaf ``colour / LEAF_SCALE``), the density is frozen. ``field``: the recoloured
    degree-0 field; ``originals``: the content references ``N,3,H,W`` in [0,1] of ``cameras`` at the working size.

    The density being frozen, each view's shaded samples and their compositing weights never change: they are
    kept in a :class:`~stylize3d.fields.frozen_samples.FrozenSampleCache` of ``cache_bytes``, so a step on a kept
    view costs the colour lookups of its samples. A view's rays exist only during its step. ``style`` is None when
    editing by text (no final colour transfer)."""

    stochastic = True

    def __init__(self, field: RadianceField, cameras: Cameras, originals: torch.Tensor, style: Optional[torch.Tensor],
                 config: SceneStyleConfig, maps: list, chunk: int = STYLIZE_CHUNK_RAYS,
                 cache_bytes: int = SAMPLE_CACHE_BYTES):
        self.start, self.cameras, self.originals, self.style = field, cameras, originals, style
        self.config, self.maps, self.chunk = config, maps, chunk
        self.width, self.height = cameras.size_for(config.size)
        self.leaf = (field.colour.detach() / LEAF_SCALE).requires_grad_(True)
        self.background = torch.tensor(field.background or BACKGROUND, device=field.device)
        self.samples = FrozenSampleCache(field, chunk, cache_bytes)

    @property
    def colour(self) -> torch.Tensor:
        """The colour grid ``1,3,D,H,W`` (SH degree 0) of the current leaf, differentiable in it."""
        return self.leaf * LEAF_SCALE

    def field(self) -> RadianceField:
        return dataclasses.replace(self.start, colour=self.colour)

    def _render_part(self, view: int, rays: Rays, i: int, colour: torch.Tensor) -> torch.Tensor:
        field = dataclasses.replace(self.start, colour=colour)
        chunk_rays = rays[i * self.chunk:(i + 1) * self.chunk]
        return composite(field, chunk_rays, self.samples.get(view, i, chunk_rays), self.background)["rgb"]

    def params(self) -> List[torch.Tensor]:
        return [self.leaf]

    def sample_view(self, generator: torch.Generator) -> int:
        return int(torch.randint(len(self.cameras), (1,), generator=generator))

    def render(self, view: int) -> torch.Tensor:
        rays = camera_rays(self.cameras[view], self.width, self.height, self.start.device)
        parts = self.samples.prepare(view, rays)
        return DeferredRender.apply(functools.partial(self._render_part, view, rays), parts, self.height, self.width,
                                    self.colour)

    def reference(self, view: int) -> torch.Tensor:
        return self.originals[view:view + 1]

    def view_key(self, view: int) -> int:
        return view

    def regularizers(self, image: torch.Tensor, view: int) -> dict:
        return {"tv": self.config.tv_weight * total_variation(image)}

    def project(self) -> None:
        pass

    def finish(self, interrupted: bool) -> None:
        """The final colour transfer (not after an interruption: the field is kept as of the last step); its map
        is fitted on renders of at most ``COLOUR_STATS_SIZE`` px."""
        if not self.config.color_transfer or interrupted or self.style is None:
            return
        with torch.no_grad():
            stylized = self.field().detached_clone()
            width, height = self.cameras.size_for(min(self.config.size, COLOUR_STATS_SIZE))
            views = render_field(stylized, self.cameras, width, height, self.background)
            self.maps.append(fit_scene_colour_map(views.rgb, views.alpha, self.style))
            self.leaf.copy_(transfer_field_colours(stylized, *self.maps[-1]).colour / LEAF_SCALE)

    def result(self, stylization) -> SceneStyleResult:
        """The stylized field (detached) with the driver's result and the colour maps applied."""
        return SceneStyleResult(self.field().detached_clone(), stylization, self.maps, self.cameras)


def _recoloured_start(field: RadianceField, cameras: Cameras, style: torch.Tensor, config: SceneStyleConfig):
    """Steps 1–2 of the recipe on a degree-0 ``field``: ``(start field, content references N,3,H,W, [map])`` at
    the working size (with ``config.color_transfer``; else the field, its renders and no map)."""
    width, height = cameras.size_for(config.size)
    with torch.no_grad():
        views = render_field(field, cameras, width, height, field.background or BACKGROUND)
    if not config.color_transfer:
        return field, views.rgb, []
    colour_map = fit_scene_colour_map(views.rgb, views.alpha, style)
    return transfer_field_colours(field, *colour_map), apply_affine_colour(views.rgb, *colour_map), [colour_map]


def field_style_task(field: RadianceField, cameras: Cameras, style: torch.Tensor, config: SceneStyleConfig,
                     options: None = None, chunk: int = STYLIZE_CHUNK_RAYS) -> Tuple[FieldStyleTask, StyleObjective]:
    """Steps 1–2 of the recipe and what step 3 runs on: the :class:`FieldStyleTask` of ``field`` (any SH degree;
    reduced to 0 and recoloured) and the objective with ``style``'s targets at the working size. Fields have no
    options of their own (``options`` is the registry's slot, always None)."""
    start, originals, maps = _recoloured_start(to_degree0(field), cameras, style, config)
    task = FieldStyleTask(start, cameras, originals, style, config, maps, chunk=chunk)
    return task, StyleObjective(config.loss, field.device).set_style([style], max(originals.shape[-2:]))


def field_edit_task(field: RadianceField, cameras: Cameras, config: SceneStyleConfig, options: None = None
                    ) -> Tuple[FieldStyleTask, torch.Tensor]:
    """The task that edits ``field`` by text (colour at SH degree 0, density frozen, no colour transfer) and its
    starting renders ``N,3,H,W`` in [0,1] at ``config.size`` (the originals the edits are conditioned on)."""
    start = to_degree0(field)
    width, height = cameras.size_for(config.size)
    with torch.no_grad():
        originals = render_field(start, cameras, width, height, start.background or BACKGROUND).rgb.clamp(0.0, 1.0)
    return FieldStyleTask(start, cameras, originals, None, config, []), originals
