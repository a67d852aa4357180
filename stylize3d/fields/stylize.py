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

Deferred back-propagation (ARF): the density being frozen, every view's shaded samples and compositing weights
are sampled once (while the content references are rendered) and kept in a
:class:`~stylize3d.fields.frozen_samples.FrozenSampleCache` (a fixed budget of ``SAMPLE_CACHE_BYTES``);
:class:`~stylize3d.fields.frozen_samples.FrozenRender` renders the whole view from them without autograd, and its
backward receives the pixel gradient of the full-image loss and pushes it into the colour grid part by part by
the transposed sum. Memory is one part's corners plus the images and the step's rays (and the kept samples),
whatever the image size. BENCHMARKS.md, "Stylization speed (issue 26)", has the before/after.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

import torch

from core.colour import apply_affine_colour
from core.losses import total_variation
from core.losses.objective import StyleObjective
from stylize3d.cameras import Cameras
from stylize3d.fields.frozen_samples import FrozenRender, FrozenSampleCache, render_frozen
from stylize3d.fields.grid import RadianceField
from stylize3d.fields.render import camera_rays, render_field
from stylize3d.sh import SH_C0
from stylize3d.scene_style import BACKGROUND, SceneStyleConfig, SceneStyleResult, fit_scene_colour_map

COLOUR_STATS_SIZE = 256
"""Long side of the renders the final colour transfer fits its map on: the colour statistics of every training
view barely change with resolution, while rendering them all at 512 px costs 4x the time and memory."""
STYLIZE_CHUNK_RAYS = 1024
"""Rays per chunk while sampling a view (a quarter of a plain render's): a smaller transient at a time; on the
benchmark field the peak RSS was 0.13 GiB lower at 256 px and 0.07 GiB at 512 px, steps no slower
(BENCHMARKS.md, field stylization, session 7)."""
SAMPLE_CACHE_BYTES = 768 * 2 ** 20
"""Memory the stylization keeps the training views' frozen-density samples in (8 bytes per shaded sample)."""
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


class FieldStyleTask:
    """The radiance-field front end on :func:`core.stylization.stylize`: a random training view per step; the
    colour grid trains (as the leaf ``colour / LEAF_SCALE``), the density is frozen. ``field``: the recoloured
    degree-0 field; ``originals``: the content references ``N,3,H,W`` in [0,1] of ``cameras`` at the working size.

    The density being frozen, each view's shaded samples and their compositing weights never change: they are
    kept in ``samples``, a :class:`~stylize3d.fields.frozen_samples.FrozenSampleCache` of the field (a new one of
    ``cache_bytes`` when not given; :func:`field_style_task` passes the one its reference renders filled), so a
    step on a kept view costs the colour lookups of its samples. A view's rays exist only during its step.
    ``style`` is None when editing by text (no final colour transfer)."""

    stochastic = True

    def __init__(self, field: RadianceField, cameras: Cameras, originals: torch.Tensor, style: Optional[torch.Tensor],
                 config: SceneStyleConfig, maps: list, chunk: int = STYLIZE_CHUNK_RAYS,
                 cache_bytes: int = SAMPLE_CACHE_BYTES, samples: Optional[FrozenSampleCache] = None):
        self.start, self.cameras, self.originals, self.style = field, cameras, originals, style
        self.config, self.maps = config, maps
        self.width, self.height = cameras.size_for(config.size)
        self.leaf = (field.colour.detach() / LEAF_SCALE).requires_grad_(True)
        self.background = _background(field)
        self.samples = samples if samples is not None else FrozenSampleCache(field, chunk, cache_bytes)

    @property
    def colour(self) -> torch.Tensor:
        """The colour grid ``1,3,D,H,W`` (SH degree 0) of the current leaf, differentiable in it."""
        return self.leaf * LEAF_SCALE

    def field(self) -> RadianceField:
        return dataclasses.replace(self.start, colour=self.colour)

    def params(self) -> List[torch.Tensor]:
        return [self.leaf]

    def sample_view(self, generator: torch.Generator) -> int:
        return int(torch.randint(len(self.cameras), (1,), generator=generator))

    def render(self, view: int) -> torch.Tensor:
        rays = camera_rays(self.cameras[view], self.width, self.height, self.start.device)
        self.samples.prepare(view, rays)
        rgb = FrozenRender.apply(self.samples, view, rays, self.background, self.colour)
        return rgb.T.reshape(1, 3, self.height, self.width)

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
        is fitted on renders of at most ``COLOUR_STATS_SIZE`` px (from the kept samples at the working size)."""
        if not self.config.color_transfer or interrupted or self.style is None:
            return
        with torch.no_grad():
            stylized = self.field().detached_clone()
            width, height = self.cameras.size_for(min(self.config.size, COLOUR_STATS_SIZE))
            if (width, height) == (self.width, self.height):
                rgb, alpha = frozen_views(self.samples, stylized, self.cameras, width, height)
            else:
                views = render_field(stylized, self.cameras, width, height, self.background)
                rgb, alpha = views.rgb, views.alpha
            self.maps.append(fit_scene_colour_map(rgb, alpha, self.style))
            self.leaf.copy_(transfer_field_colours(stylized, *self.maps[-1]).colour / LEAF_SCALE)

    def result(self, stylization) -> SceneStyleResult:
        """The stylized field (detached) with the driver's result and the colour maps applied."""
        return SceneStyleResult(self.field().detached_clone(), stylization, self.maps, self.cameras)


def _background(field: RadianceField) -> torch.Tensor:
    return torch.tensor(field.background or BACKGROUND, device=field.device)


def frozen_views(samples: FrozenSampleCache, field: RadianceField, cameras: Cameras, width: int, height: int
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(rgb N,3,H,W, alpha N,1,H,W)``: every camera's render of degree-0 ``field`` (its colour; its density is
    the cache's) from the frozen samples, view ``i`` keyed ``i``: the views are sampled (and kept, budget
    allowing) on the way, so that the stylization's steps find them. Equals :func:`render_field`."""
    background = _background(field)
    rgbs, alphas = [], []
    with torch.no_grad():
        for view in range(len(cameras)):
            rays = camera_rays(cameras[view], width, height, field.device)
            samples.prepare(view, rays)
            rgb, alpha = render_frozen(samples, view, rays, field.colour, background)
            rgbs.append(rgb.T.reshape(3, height, width))
            alphas.append(alpha.reshape(1, height, width))
    return torch.stack(rgbs), torch.stack(alphas)


def _recoloured_start(field: RadianceField, cameras: Cameras, style: torch.Tensor, config: SceneStyleConfig,
                      samples: FrozenSampleCache):
    """Steps 1–2 of the recipe on a degree-0 ``field``: ``(start field, content references N,3,H,W, [map])`` at
    the working size (with ``config.color_transfer``; else the field, its renders and no map), rendered from
    ``samples`` (which keeps the views it can)."""
    width, height = cameras.size_for(config.size)
    rgb, alpha = frozen_views(samples, field, cameras, width, height)
    if not config.color_transfer:
        return field, rgb, []
    colour_map = fit_scene_colour_map(rgb, alpha, style)
    return transfer_field_colours(field, *colour_map), apply_affine_colour(rgb, *colour_map), [colour_map]


def field_style_task(field: RadianceField, cameras: Cameras, style: torch.Tensor, config: SceneStyleConfig,
                     options: None = None, chunk: int = STYLIZE_CHUNK_RAYS) -> Tuple[FieldStyleTask, StyleObjective]:
    """Steps 1–2 of the recipe and what step 3 runs on: the :class:`FieldStyleTask` of ``field`` (any SH degree;
    reduced to 0 and recoloured) and the objective with ``style``'s targets at the working size. Fields have no
    options of their own (``options`` is the registry's slot, always None)."""
    start = to_degree0(field)
    samples = FrozenSampleCache(start, chunk, SAMPLE_CACHE_BYTES)
    start, originals, maps = _recoloured_start(start, cameras, style, config, samples)
    task = FieldStyleTask(start, cameras, originals, style, config, maps, samples=samples)
    return task, StyleObjective(config.loss, field.device).set_style([style], max(originals.shape[-2:]))


def field_edit_task(field: RadianceField, cameras: Cameras, config: SceneStyleConfig, options: None = None
                    ) -> Tuple[FieldStyleTask, torch.Tensor]:
    """The task that edits ``field`` by text (colour at SH degree 0, density frozen, no colour transfer) and its
    starting renders ``N,3,H,W`` in [0,1] at ``config.size`` (the originals the edits are conditioned on)."""
    start = to_degree0(field)
    width, height = cameras.size_for(config.size)
    samples = FrozenSampleCache(start, STYLIZE_CHUNK_RAYS, SAMPLE_CACHE_BYTES)
    originals = frozen_views(samples, start, cameras, width, height)[0].clamp(0.0, 1.0)
    return FieldStyleTask(start, cameras, originals, None, config, [], samples=samples), originals
