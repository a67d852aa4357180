"""Feature propagation to the frames between keyframes, along nearest-neighbour correspondences (TokenFlow,
Geyer et al., ICLR 2024).

In every chosen self-attention layer, a frame ``f`` between keyframes ``a`` and ``b`` does not attend at all:
its attention output is taken from the keyframes' *edited* outputs at the tokens whose *source* features (the
attention inputs of the original frames' inverted latents at the same timestep and layer) are most similar by
cosine similarity::

    out_f(p) = (1 − w) · out_a(NN_a(p)) + w · out_b(NN_b(p)),   w = (f − a) / (b − a)

So the edit moves with the original video's correspondences. The keyframes' outputs and features of the current
timestep come from :class:`core.priors.extended_attention.KeyframeStore`. A frame with one neighbouring keyframe
(end of a scene) uses it alone (``w = 0``). All features ``L,C`` are one frame's tokens (``L = h·w``, row-major).
"""

import dataclasses
from typing import Sequence

import torch
import torch.nn.functional as F

from core.priors.attention import SelfAttention, attend, project_qkv
from core.priors.extended_attention import DEFAULT_QUERY_CHUNK, KeyframeStore, RowLayout


@dataclasses.dataclass(frozen=True)
class Neighbours:
    """A frame's keyframes as rows of the keyframe batch: ``previous``, ``next`` and the weight ``w`` of ``next``."""

    previous: int
    next: int
    weight: float


def nearest_tokens(features: torch.Tensor, reference: torch.Tensor, chunk: int = DEFAULT_QUERY_CHUNK
                   ) -> torch.Tensor:
    """For each token of ``features`` ``L,C``, the index (``L`` long) of the most cosine-similar token of
    ``reference`` ``L',C``; computed ``chunk`` query tokens at a time (``chunk × L'`` similarities held)."""
    ref = F.normalize(reference.float(), dim=-1)
    query = F.normalize(features.float(), dim=-1)
    return torch.cat([(query[i:i + chunk] @ ref.t()).argmax(dim=-1) for i in range(0, query.shape[0], chunk)])


def propagate(features: torch.Tensor, key_features: torch.Tensor, key_outputs: torch.Tensor,
              neighbours: Neighbours, chunk: int = DEFAULT_QUERY_CHUNK) -> torch.Tensor:
    """One frame's propagated attention outputs ``G,L,C`` (see the module docstring).

    ``features`` ``L,C``: the frame's source features; ``key_features`` ``K,L',C``: the keyframes' source features;
    ``key_outputs`` ``G,K,L',C``: their edited outputs per guidance group.
    """
    def taken_from(row: int) -> torch.Tensor:
        return key_outputs[:, row, nearest_tokens(features, key_features[row], chunk)]

    out = taken_from(neighbours.previous)
    if neighbours.weight == 0.0:
        return out
    return (1.0 - neighbours.weight) * out + neighbours.weight * taken_from(neighbours.next)


class PropagationAttention(SelfAttention):
    """Processor of the in-between frames' call in one layer: rows ``[source frames | edit frames × groups]``
    (:class:`RowLayout` without extra rows). Source rows attend plainly; edit rows are :func:`propagate`\\ d from
    ``store`` with ``neighbours[i]`` for frame ``i`` (both set by the caller before each call)."""

    def __init__(self, layer: str, store: KeyframeStore, chunk: int = DEFAULT_QUERY_CHUNK):
        self.layer, self.store, self.chunk = layer, store, chunk
        self.layout = RowLayout(frames=1)
        self.neighbours: Sequence[Neighbours] = ()

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **unused):
        if encoder_hidden_states is not None:
            raise NotImplementedError("core.priors processors are for self-attention (attn1) layers only")
        lay = self.layout
        source = lay.source(hidden_states)
        plain = attend(attn, *project_qkv(attn, source, attention_mask), source)
        key_features, key_outputs = self.store.features[self.layer], self.store.outputs[self.layer]
        edited = torch.stack([propagate(source[i], key_features, key_outputs, self.neighbours[i], self.chunk)
                              for i in range(lay.frames)], dim=1)
        return torch.cat([plain, edited.flatten(0, 1).to(plain.dtype)])
