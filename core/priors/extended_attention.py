"""Extended (cross-keyframe) self-attention: video keyframes edited jointly, one shared anchor per batch.

In the chosen self-attention layers each keyframe's queries attend to the keys and values of *all* keyframes of
its batch (Tune-A-Video / Text2Video-Zero's cross-frame attention, TokenFlow's joint keyframe edit, Geyer et al.
ICLR 2024), so the keyframes' edits agree. Row 0 of a batch is the **anchor** keyframe: it attends only to itself,
so it is edited the same way in every batch it joins, and every batch shares it.

The UNet batch of one joint call (:class:`RowLayout`)::

    [extra rows (e.g. a style image)] [frames source rows] [frames edit rows] × groups

``source`` rows are the original frames' inverted latents at the current timestep (plain self-attention; their
attention inputs are the features correspondences are computed from), ``edit`` rows the latents being edited,
repeated once per guidance branch (``groups``: 1 without guidance, 3 for InstructPix2Pix). Extended attention is
computed one row and ``chunk`` query tokens at a time, so the logits held at once (where the attention kernel
materialises them) are ``heads × chunk × (frames·L)`` instead of ``frames × heads × L × (frames·L)``.

:class:`KeyframeAttention` is the processor of the joint call: edit rows use extended attention (or, in StyleID
injection layers, the blended query :func:`core.priors.style_injection.injected_query` with the style's keys and
values), and it records for :mod:`core.priors.propagation` the source rows' attention inputs and the edit rows'
outputs of this call.
"""

import dataclasses
from typing import Dict, Optional

import torch

from core.priors.attention import SelfAttention, attend, attention_heads, project_out
from core.priors.style_injection import injected_query

DEFAULT_QUERY_CHUNK = 1024
"""Query tokens per attention chunk (SD 1.5 at 512²: 4096 tokens in the largest layers)."""


@dataclasses.dataclass(frozen=True)
class RowLayout:
    """How the rows of one UNet batch are laid out (see the module docstring)."""

    frames: int
    groups: int = 1
    extra: int = 0

    @property
    def rows(self) -> int:
        return self.extra + self.frames * (1 + self.groups)

    def source(self, x: torch.Tensor) -> torch.Tensor:
        """The source rows of ``x`` (rows first), ``frames,…``."""
        return x[self.extra:self.extra + self.frames]

    def edit(self, x: torch.Tensor) -> torch.Tensor:
        """The edit rows of ``x`` as ``groups,frames,…``."""
        return x[self.extra + self.frames:].reshape(self.groups, self.frames, *x.shape[1:])


def chunked_attention(attn, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, chunk: int = DEFAULT_QUERY_CHUNK,
                      logit_scale: float = 1.0) -> torch.Tensor:
    """:func:`core.priors.attention.attention_heads` over query chunks of ``chunk`` tokens: ``q`` ``B,heads,Lq,d``,
    ``k``/``v`` ``B,heads,Lk,d`` → ``B,heads,Lq,d`` (the same values, computed ``chunk`` queries at a time)."""
    return torch.cat([attention_heads(attn, q[:, :, i:i + chunk], k, v, logit_scale)
                      for i in range(0, q.shape[2], chunk)], dim=2)


def extended_attention(attn, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       chunk: int = DEFAULT_QUERY_CHUNK) -> torch.Tensor:
    """Cross-keyframe attention heads for one batch ``q``/``k``/``v`` ``N,heads,L,d`` (row 0 the anchor):
    row 0 attends to its own tokens, rows 1… to the tokens of all ``N`` rows. Returns ``N,heads,L,d``.

    With ``N = 1`` this is plain self-attention.
    """
    count, heads, tokens, dim = k.shape
    anchor = chunked_attention(attn, q[:1], k[:1], v[:1], chunk)
    if count == 1:
        return anchor
    keys = k.transpose(0, 1).reshape(1, heads, count * tokens, dim)
    values = v.transpose(0, 1).reshape(1, heads, count * tokens, dim)
    others = torch.cat([chunked_attention(attn, q[i:i + 1], keys, values, chunk) for i in range(1, count)])
    return torch.cat([anchor, others])


@dataclasses.dataclass
class Injection:
    """StyleID injection in a joint call: row 0 of the ``extra`` rows is the style image's inverted latent; edit
    rows use ``γ·q_source + (1−γ)·q_edit`` with the style's keys/values and temperature ``T``."""

    gamma: float = 0.75
    temperature: float = 1.5


class KeyframeStore:
    """What the joint keyframe call of the current timestep left for propagation, per layer:
    ``features[layer]`` the source rows' attention inputs ``frames,L,C`` and ``outputs[layer]`` the edit rows'
    attention outputs ``groups,frames,L,C``. Overwritten at every call (one timestep is held, not a trajectory)."""

    def __init__(self):
        self.features: Dict[str, torch.Tensor] = {}
        self.outputs: Dict[str, torch.Tensor] = {}

    def clear(self) -> None:
        self.features.clear()
        self.outputs.clear()


class KeyframeAttention(SelfAttention):
    """The processor of the joint keyframe call in one layer (see the module docstring).

    ``layout``: the batch layout (set by the caller before each call); ``injection``: StyleID injection in this
    layer (None: extended attention); ``store``: where features and outputs are recorded (None: not recorded).
    """

    def __init__(self, layer: str, layout: RowLayout, store: Optional[KeyframeStore] = None,
                 injection: Optional[Injection] = None, chunk: int = DEFAULT_QUERY_CHUNK):
        self.layer, self.layout, self.store, self.injection, self.chunk = layer, layout, store, injection, chunk

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **unused):
        if self.store is not None:
            self.store.features[self.layer] = self.layout.source(hidden_states).detach()
        return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb)

    def compute(self, attn, q, k, v, residual):
        lay = self.layout
        plain = attend(attn, q[:lay.extra + lay.frames], k[:lay.extra + lay.frames], v[:lay.extra + lay.frames],
                       residual[:lay.extra + lay.frames])
        q_src, q_edit, k_edit, v_edit = lay.source(q), lay.edit(q), lay.edit(k), lay.edit(v)
        edits = []
        for g in range(lay.groups):
            if self.injection is not None:
                style_k, style_v = (t[:1].expand(lay.frames, -1, -1, -1) for t in (k, v))
                heads = chunked_attention(attn, injected_query(q_src, q_edit[g], self.injection.gamma), style_k,
                                          style_v, self.chunk, logit_scale=self.injection.temperature)
            else:
                heads = extended_attention(attn, q_edit[g], k_edit[g], v_edit[g], self.chunk)
            edits.append(heads)
        edited = project_out(attn, torch.cat(edits), lay.edit(residual).flatten(0, 1))
        if self.store is not None:
            self.store.outputs[self.layer] = edited.detach().view(lay.groups, lay.frames, *edited.shape[1:])
        return torch.cat([plain, edited])
