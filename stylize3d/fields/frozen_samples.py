"""The shaded samples of a field whose density is frozen, kept per view within a fixed memory budget, and the
colour render over them with its hand-written backward.

While a field's colour is stylized its density does not change, so which samples a ray shades and their
compositing weights ``T_i α_i`` are the same at every step. :class:`FrozenSampleCache` keeps them per view,
``BYTES_PER_SAMPLE`` bytes each (depth parameter and weight; the ray of a sample is given by the per-ray counts,
``BYTES_PER_RAY``, and its world position is recomputed from the ray), and never holds more than its budget: a
view that does not fit evicts the oldest views, and a view larger than the whole budget is not kept at all — it
is remembered as such, and its chunks are sampled whenever they are rendered (forward and backward) without
disturbing the kept views. Memory is therefore the budget (plus one part), whatever the image size.

With the samples frozen, a view's render is ``rgb_r = Σ_{i∈r} w_i sigmoid(C0 · Σ_k b_ik k_ik) + (1 − Σ w_i) bg``
(``k_ik`` the colour grid at sample ``i``'s 8 corners, ``b_ik`` their trilinear weights): :class:`FrozenRender`
evaluates it part by part without autograd, and its backward is the transpose, part by part
(``∂/∂k_ik = b_ik · C0 s(1 − s) · w_i · ∂L/∂rgb_r``, ``s`` the sample's colour) — ARF's deferred
back-propagation with no autograd graph over the renderer, the corners of each part computed once per pass.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Hashable, Iterator, List, Set, Tuple

import torch

from stylize3d.fields.grid import RadianceField, gather_corners, grid_lookup, scatter_corners_
from stylize3d.fields.render import Rays, WeightedSamples, weighted_samples
from stylize3d.sh import SH_C0

BYTES_PER_SAMPLE = 8
"""float32 depth parameter + float32 weight."""
BYTES_PER_RAY = 4
"""int32 count of the ray's shaded samples."""
PART_SAMPLES = 2 ** 16
"""Samples a kept view's part holds (about; whole rays): what :class:`FrozenRender` shades at once. Small enough
for a part's corners to stay in the CPU caches between the operations: a step at 256 px took 2.1–2.4 s with
2^16 and 3.2–3.4 s with 2^19 (BENCHMARKS.md, "Stylization speed (issue 26)")."""


@dataclasses.dataclass
class FrozenSamples:
    """The shaded samples of the consecutive rays ``first … first + len(counts) − 1`` of a view: ``counts`` ``R``
    int32 samples per ray, ``t`` ``M`` camera-z parameters, ``weights`` ``M`` compositing weights; sorted by ray,
    then depth."""

    first: int
    counts: torch.Tensor
    t: torch.Tensor
    weights: torch.Tensor

    @classmethod
    def of(cls, samples: WeightedSamples, first: int = 0) -> "FrozenSamples":
        counts = torch.bincount(samples.ray, minlength=samples.rays).to(torch.int32)
        return cls(first, counts, samples.t, samples.weights.detach())

    @classmethod
    def cat(cls, parts: List["FrozenSamples"]) -> "FrozenSamples":
        """Consecutive parts (``parts[i+1].first`` follows ``parts[i]``'s last ray) as one."""
        names = ("counts", "t", "weights")
        return cls(parts[0].first, *(torch.cat([getattr(p, name) for p in parts]) for name in names))

    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in (self.counts, self.t, self.weights))

    def ray(self) -> torch.Tensor:
        """``M`` long: each sample's ray, as an index into the view's rays."""
        rays = torch.arange(self.first, self.first + len(self.counts), device=self.counts.device)
        return rays.repeat_interleave(self.counts.long(), output_size=len(self.t))

    def corners(self, field: RadianceField, rays: Rays) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(ray M, index M,8, weight M,8)``: each sample's ray and the grid corners around it with their
        trilinear weights (``rays``: the view's rays; positions as :func:`weighted_samples` computes them)."""
        ray = self.ray()
        pts = rays.origins.index_select(0, ray) + rays.dirs.index_select(0, ray) * self.t[:, None]
        at = grid_lookup(field.resolution, field.to_grid(pts).to(field.density.dtype), cuda=False)
        return ray, at.index, at.weight


class FrozenSampleCache:
    """Per view, the frozen samples of its rays (sampled ``chunk`` rays at a time, kept in parts of about
    ``PART_SAMPLES``), within ``budget_bytes``.

    ``prepare(view, rays)`` before rendering a view, then ``parts(view, rays)`` as often as needed (the backward
    renders again)."""

    def __init__(self, field: RadianceField, chunk: int, budget_bytes: int, part_samples: int = PART_SAMPLES):
        self.field, self.chunk, self.budget, self.part_samples = field, chunk, budget_bytes, part_samples
        self.views: "OrderedDict[Hashable, List[FrozenSamples]]" = OrderedDict()
        self.too_large: Set[Hashable] = set()
        self.used = 0

    def _sample(self, rays: Rays, first: int) -> FrozenSamples:
        with torch.no_grad():
            return FrozenSamples.of(weighted_samples(self.field, rays[first:first + self.chunk]), first)

    def _evict_oldest(self) -> None:
        _, parts = self.views.popitem(last=False)
        self.used -= sum(part.nbytes() for part in parts)

    def prepare(self, view: Hashable, rays: Rays) -> None:
        """Sample ``view`` (all its ``rays``, pixel order) unless kept; keep it, evicting the oldest views while the
        budget would be exceeded, unless it alone exceeds the budget (found out once: the views evicted meanwhile
        are lost, and the view is never sampled here again)."""
        if view in self.views or view in self.too_large:
            return
        kept: List[FrozenSamples] = []
        pending: List[FrozenSamples] = []
        size = 0
        for first in range(0, len(rays), self.chunk):
            part = self._sample(rays, first)
            size += part.nbytes()
            if size > self.budget:  # too large to keep: its chunks are sampled when rendered
                self.too_large.add(view)
                return
            while self.views and self.used + size > self.budget:
                self._evict_oldest()
            pending.append(part)
            if sum(len(p.t) for p in pending) >= self.part_samples:
                kept.append(FrozenSamples.cat(pending))
                pending = []
        if pending:
            kept.append(FrozenSamples.cat(pending))
        self.views[view] = kept
        self.used += size

    def parts(self, view: Hashable, rays: Rays) -> Iterator[FrozenSamples]:
        """The frozen samples of ``view`` (``rays``: all its rays) part by part: the kept ones, or sampled now."""
        if view in self.views:
            yield from self.views[view]
            return
        for first in range(0, len(rays), self.chunk):
            yield self._sample(rays, first)


def render_frozen(cache: FrozenSampleCache, view: Hashable, rays: Rays, colour: torch.Tensor,
                  background: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(rgb R,3, alpha R)`` of ``view`` (``rays``: its ``R`` rays) with the degree-0 colour grid ``colour``
    ``1,3,D,H,W`` over the cache's frozen samples, composited over ``background`` (``3``); no autograd (see
    :class:`FrozenRender`). Equals :func:`~stylize3d.fields.render.render_rays` of the field with that colour."""
    flat = colour.detach().reshape(3, -1)
    rgb = flat.new_zeros(len(rays), 3)
    alpha = flat.new_zeros(len(rays))
    for part in cache.parts(view, rays):
        ray, index, weight = part.corners(cache.field, rays)
        shade = torch.sigmoid(gather_corners(flat, index, weight) * SH_C0)
        rgb.index_add_(0, ray, part.weights[:, None] * shade)
        alpha.index_add_(0, ray, part.weights)
    return rgb + (1 - alpha)[:, None] * background.to(rgb), alpha


class FrozenRender(torch.autograd.Function):
    """``rgb = FrozenRender.apply(cache, view, rays, background, colour)``: :func:`render_frozen`'s ``R,3``,
    differentiable in ``colour`` by the transposed pass (module docstring), which computes each part's corners
    again: memory is one part's corners, whatever the image size. (Keeping the forward's corners for the backward,
    within 256 MiB, was measured no faster: BENCHMARKS.md, "Stylization speed (issue 26)".)"""

    @staticmethod
    def forward(ctx, cache: FrozenSampleCache, view: Hashable, rays: Rays, background: torch.Tensor,
                colour: torch.Tensor) -> torch.Tensor:
        ctx.cache, ctx.view, ctx.rays = cache, view, rays
        ctx.save_for_backward(colour)
        return render_frozen(cache, view, rays, colour, background)[0]

    @staticmethod
    def backward(ctx, grad_rgb: torch.Tensor):
        (colour,) = ctx.saved_tensors
        flat = colour.detach().reshape(3, -1)
        grad_flat = torch.zeros_like(flat)
        for part in ctx.cache.parts(ctx.view, ctx.rays):
            ray, index, weight = part.corners(ctx.cache.field, ctx.rays)
            shade = torch.sigmoid(gather_corners(flat, index, weight) * SH_C0)
            slope = shade * (1 - shade) * (part.weights * SH_C0)[:, None]  # ∂rgb/∂logit of each sample
            scatter_corners_(grad_flat, grad_rgb.index_select(0, ray) * slope, index, weight)
        return None, None, None, None, grad_flat.view_as(colour)
