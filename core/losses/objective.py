"""The one style objective every front end uses: a :class:`StyleLossConfig` → a :class:`StyleObjective`.

``StyleObjective(config).set_style(styles, long_side)`` computes the style targets once;
``.terms(image, reference)`` returns the unweighted ``{"style": …, "content": …}`` of a render, and
``.weighted_total(terms)`` is ``style_weight · style + content_weight · content``. The same config gives the
same numbers in the 2D, video, splat, field, SVG and stroke front ends.

Kinds (``config.kind``) and their default layers:

* ``gram`` — Gatys et al.: normalised Grams ``G = F Fᵀ / (H·W)`` on ``relu1_1 … relu5_1``; per layer
  ``‖G_l(x) − A_l‖² / C_l²`` (pystiche's convention, :mod:`core.losses.gram`).
* ``meanstd`` — AdaIN statistics: per layer ``MSE(μ_l(x), μ_l(s)) + MSE(σ_l(x), σ_l(s))`` on the same layers.
* ``nnfm`` — ARF's nearest-neighbour feature matching on ``relu3_1 … relu3_3`` **concatenated** along channels
  (as ARF does; the layers must share one resolution), a number in ``[0, 2]``.

``relative=True`` (default) makes every layer's term relative to its target's magnitude, so layers whose raw
magnitudes differ by orders of magnitude (the Caffe VGG19) contribute alike and weights are portable between
front ends: gram layer weight ``1 / (L · mean(A_l²))``, meanstd ``1 / (L · (mean(μ_s²) + mean(σ_s²)))``; with
``relative=False`` every layer weighs ``1 / L`` (the style term is the mean over layers). NNFM is scale-free
and is not rescaled.

Content: ``mean over content layers of MSE(F_l(x), F_l(r)) / mean(F_l(r)²)`` (relative) or the plain MSE
(``relative=False``) against the reference image ``r``; the ``nnfm`` kind compares the concatenated
style-layer features by default. Style images are resized to ``style_scale ×`` the working long side (never
below 16 px on their short side: relu5_1 sits behind four poolings).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Hashable, Optional, Sequence

import torch

from core.errors import ConfigError, InputError
from core.io.images import resize_long_side
from core.losses.config import (CONTENT_LAYER, GATYS_LAYERS, MIN_VGG_SIDE, NNFM_LAYERS, STYLE_KINDS,  # noqa: F401
                                StyleLossConfig, style_long_side)
from core.losses.content import content_loss
from core.losses.gram import blend_grams, gram_matrix, gram_style_loss
from core.losses.meanstd import feature_stats, meanstd_style_loss
from core.losses.nnfm import nnfm_loss
from core.nn.vgg import load_vgg19

CONTENT_CACHE_BYTES = 256 * 2 ** 20
"""Memory the content features of keyed references are kept in, least recently used evicted first: NNFM's
relu3_x features are 48 MiB per view at 512 px, so caching every view of a 42-view scene would take 2 GiB."""


class StyleObjective:
    """Style targets of one or more style images and the per-image loss terms (see the module docstring).

    The encoder (VGG19, frozen) is shared: pass one in to reuse it across objectives (pyramid levels, frames).
    """

    def __init__(self, config: StyleLossConfig, device: "torch.device | str" = "cpu", encoder=None):
        config.validate()
        self.config = config
        self.device = torch.device(device)
        self.encoder = encoder if encoder is not None else load_vgg19(self.device)
        self.style_layers = config.resolved_style_layers
        self.content_layers = config.resolved_content_layers
        self.layers = list(dict.fromkeys([*self.style_layers, *self.content_layers]))
        self.targets: Optional[dict] = None
        self.layer_weights: Optional[dict] = None
        self.mask: Optional[torch.Tensor] = None
        self._content_targets: "OrderedDict[Hashable, tuple]" = OrderedDict()
        self._content_bytes = 0

    # -- style targets -------------------------------------------------------------------------------------------
    def set_style(self, styles: Sequence[torch.Tensor], long_side: int, blend: Optional[Sequence[float]] = None,
                  mask: Optional[torch.Tensor] = None) -> "StyleObjective":
        """Targets from ``styles`` (each ``1,3,h,w`` in [0,1]) resized to ``style_scale × long_side``.

        ``blend``: one non-negative weight per style (default equal; Grams and statistics are averaged,
        NNFM pools the styles' feature vectors). ``mask`` (``1,1,H,W`` in [0,1], image resolution) limits the
        gram term to the masked region of the output. Returns ``self``.
        """
        if not styles:
            raise InputError("at least one style image is needed")
        if blend is not None and len(blend) != len(styles):
            raise InputError(f"blend needs one weight per style image: got {len(blend)} weights for {len(styles)} styles")
        kind = self.config.kind
        per_style = []
        with torch.no_grad():
            for style in styles:
                h, w = style.shape[-2:]
                scaled = resize_long_side(style.to(self.device), style_long_side(h, w, long_side, self.config.style_scale))
                feats = self.encoder(scaled, self.style_layers)
                if kind == "gram":
                    per_style.append({n: gram_matrix(feats[n])[0] for n in self.style_layers})
                elif kind == "meanstd":
                    per_style.append({n: tuple(t[0] for t in feature_stats(feats[n])) for n in self.style_layers})
                else:
                    per_style.append(self._concat(feats))
        count = len(self.style_layers)
        if kind == "gram":
            self.targets = blend_grams(per_style, blend)
            scale = {n: float(g.pow(2).mean().clamp_min(1e-12)) for n, g in self.targets.items()}
        elif kind == "meanstd":
            weights = _normalised(blend, len(per_style))
            self.targets = {n: (sum(w * s[n][0] for w, s in zip(weights, per_style)),
                                sum(w * s[n][1] for w, s in zip(weights, per_style))) for n in self.style_layers}
            scale = {n: float((m.pow(2).mean() + s.pow(2).mean()).clamp_min(1e-12)) for n, (m, s) in self.targets.items()}
        else:
            self.targets = torch.cat([f.flatten(2) for f in per_style], dim=2).unsqueeze(-1)
            scale = None
        if scale is not None:
            self.layer_weights = {n: 1.0 / (count * (scale[n] if self.config.relative else 1.0)) for n in self.style_layers}
        self.mask = None if mask is None else mask.to(self.device)
        return self

    def _concat(self, feats: dict) -> torch.Tensor:
        shapes = {tuple(feats[n].shape[-2:]) for n in self.style_layers}
        if len(shapes) > 1:
            raise ConfigError("style_layers", f"nnfm concatenates its layers, which must share one resolution; "
                                              f"{', '.join(self.style_layers)} do not")
        return torch.cat([feats[n] for n in self.style_layers], dim=1)

    # -- per-image terms -----------------------------------------------------------------------------------------
    def features(self, image: torch.Tensor) -> dict:
        """VGG19 features of ``image`` (``B,3,H,W`` in [0,1]) at every layer this objective uses."""
        return self.encoder(image, self.layers)

    def style_term(self, feats: dict) -> torch.Tensor:
        """The unweighted style term of features from :meth:`features` (scalar)."""
        if self.targets is None:
            raise RuntimeError("call set_style() before evaluating the objective")
        if self.config.kind == "gram":
            return gram_style_loss({n: feats[n] for n in self.style_layers}, self.targets, self.layer_weights, mask=self.mask)
        if self.config.kind == "meanstd":
            return meanstd_style_loss({n: feats[n] for n in self.style_layers}, self.targets, self.layer_weights)
        return nnfm_loss(self._concat(feats), self.targets)

    def _content_features(self, feats: dict) -> list:
        if self.config.kind == "nnfm" and not self.config.content_layers:
            return [self._concat(feats)]
        return [feats[n] for n in self.content_layers]

    def content_targets(self, reference: torch.Tensor, key: Hashable = None) -> tuple:
        """``(features, scales)`` of the reference image; cached under ``key`` unless it is None, within
        ``CONTENT_CACHE_BYTES`` (the least recently used keys are evicted and computed again when asked; the
        latest is always kept, so a single reference, however large, is computed once)."""
        if key is not None and key in self._content_targets:
            self._content_targets.move_to_end(key)
            return self._content_targets[key]
        with torch.no_grad():
            targets = self._content_features(self.encoder(reference.to(self.device), self.layers))
        scales = [1.0 / float(t.pow(2).mean().clamp_min(1e-12)) if self.config.relative else 1.0 for t in targets]
        size = sum(t.numel() * t.element_size() for t in targets)
        if key is not None:  # an entry larger than the budget is kept alone: one reference is an image buffer
            while self._content_targets and self._content_bytes + size > CONTENT_CACHE_BYTES:
                _, (evicted, _) = self._content_targets.popitem(last=False)
                self._content_bytes -= sum(t.numel() * t.element_size() for t in evicted)
            self._content_targets[key] = (targets, scales)
            self._content_bytes += size
        return targets, scales

    def content_term(self, feats: dict, reference: torch.Tensor, key: Hashable = None) -> torch.Tensor:
        targets, scales = self.content_targets(reference, key)
        outputs = self._content_features(feats)
        return sum(s * content_loss(o, t) for o, t, s in zip(outputs, targets, scales)) / len(outputs)

    def terms(self, image: torch.Tensor, reference: Optional[torch.Tensor] = None, key: Hashable = None) -> dict:
        """``{"style": s, "content": c}`` (unweighted scalars) of ``image`` ``1,3,H,W`` in [0,1]; ``content``
        only when a ``reference`` (same size, [0,1]) is given. ``key`` caches the reference's features."""
        feats = self.features(image)
        out = {"style": self.style_term(feats)}
        if reference is not None:
            out["content"] = self.content_term(feats, reference, key)
        return out

    def weighted_total(self, terms: dict) -> torch.Tensor:
        """``style_weight · style + content_weight · content`` (content counts only when present)."""
        total = self.config.style_weight * terms["style"]
        if "content" in terms:
            total = total + self.config.content_weight * terms["content"]
        return total


def _normalised(weights: Optional[Sequence[float]], count: int) -> list:
    weights = [1.0] * count if weights is None else [float(w) for w in weights]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise InputError(f"blend weights {weights} must be non-negative with a positive sum")
    return [w / sum(weights) for w in weights]
