"""The shaded samples of a field whose density is frozen, kept per view within a fixed memory budget.

While a field's colour is stylized its density does not change, so which samples a ray shades and their
compositing weights ``T_i α_i`` are the same at every step. :class:`FrozenSampleCache` keeps them per view,
``BYTES_PER_SAMPLE`` bytes each (ray index, depth parameter, weight; the world position is recomputed from the
ray), and never holds more than its budget: a view that does not fit evicts the oldest views, and a view larger
than the whole budget is not kept at all — it is remembered as such, and its chunks are sampled whenever they
are rendered (forward and deferred backward) without disturbing the kept views. Memory is
therefore the budget (plus one chunk), whatever the image size; a view that is kept costs a step only its colour
lookups.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Hashable, List, Set

import torch

from stylize3d.fields.grid import RadianceField
from stylize3d.fields.render import Rays, WeightedSamples, weighted_samples

BYTES_PER_SAMPLE = 12
"""int32 ray index + float32 depth parameter + float32 weight."""


@dataclasses.dataclass
class FrozenSamples:
    """One chunk's shaded samples: ``ray`` ``M`` int32 (index into the chunk's rays), ``t`` ``M`` camera-z
    parameters, ``weights`` ``M`` compositing weights; sorted by ray, then depth."""

    ray: torch.Tensor
    t: torch.Tensor
    weights: torch.Tensor

    @classmethod
    def of(cls, samples: WeightedSamples) -> "FrozenSamples":
        return cls(samples.ray.to(torch.int32), samples.t, samples.weights.detach())

    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in (self.ray, self.t, self.weights))

    def expand(self, rays: Rays) -> WeightedSamples:
        """The :class:`WeightedSamples` of ``rays`` (the chunk's rays) these were taken from; positions are
        recomputed exactly as :func:`weighted_samples` computes them."""
        ray = self.ray.long()
        pts = rays.origins.index_select(0, ray) + rays.dirs.index_select(0, ray) * self.t[:, None]
        return WeightedSamples(len(rays), ray, pts, self.t, self.weights, self.weights.new_empty(0))


class FrozenSampleCache:
    """Per view, the frozen samples of its rays in chunks of ``chunk`` rays, within ``budget_bytes``.

    ``prepare(view, rays)`` before rendering a view (returns its number of chunks), then ``get(view, i, rays_i)``
    for each chunk ``i`` (``rays_i``: that chunk's rays), as often as needed (the deferred backward renders again).
    """

    def __init__(self, field: RadianceField, chunk: int, budget_bytes: int):
        self.field, self.chunk, self.budget = field, chunk, budget_bytes
        self.views: "OrderedDict[Hashable, List[FrozenSamples]]" = OrderedDict()
        self.too_large: Set[Hashable] = set()
        self.used = 0

    def _sample(self, rays: Rays) -> FrozenSamples:
        with torch.no_grad():
            return FrozenSamples.of(weighted_samples(self.field, rays))

    def _evict_oldest(self) -> None:
        _, parts = self.views.popitem(last=False)
        self.used -= sum(part.nbytes() for part in parts)

    def prepare(self, view: Hashable, rays: Rays) -> int:
        """Sample ``view`` (all its ``rays``, pixel order) unless kept; keep it, evicting the oldest views while the
        budget would be exceeded, unless it alone exceeds the budget (found out once: the views evicted meanwhile
        are lost, and the view is never sampled here again). Returns the number of chunks."""
        parts = -(-len(rays) // self.chunk)
        if view in self.views or view in self.too_large:
            return parts
        kept: List[FrozenSamples] = []
        size = 0
        for i in range(parts):
            part = self._sample(rays[i * self.chunk:(i + 1) * self.chunk])
            size += part.nbytes()
            if size > self.budget:  # too large to keep: its chunks are sampled when rendered
                self.too_large.add(view)
                return parts
            while self.views and self.used + size > self.budget:
                self._evict_oldest()
            kept.append(part)
        self.views[view] = kept
        self.used += size
        return parts

    def get(self, view: Hashable, i: int, rays: Rays) -> WeightedSamples:
        """Chunk ``i`` of ``view`` (``rays``: that chunk's rays) as :class:`WeightedSamples`."""
        parts = self.views.get(view)
        return (parts[i] if parts is not None else self._sample(rays)).expand(rays)
