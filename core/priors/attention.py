"""Attention-processor plumbing: our processors plug into diffusers' ``set_attn_processor`` seam.

A processor is called by a diffusers ``Attention`` module as
``processor(attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None)`` with
``hidden_states`` ``B,L,C`` (tokens of one feature map). The helpers here split that computation into
:func:`project_qkv` (queries, keys, values ``B,heads,L,d``), :func:`attention_heads` (scaled dot-product attention)
and :func:`project_out` (output projection), so each method's processor changes only the part it needs.
:func:`installed_processors` swaps processors in for a block and always restores the previous ones.
"""

import contextlib
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from core.errors import InputError

LayerSpec = Union[None, Sequence[Union[int, str]]]


class StepClock:
    """The timestep the current UNet evaluation belongs to, shared by the processors of one run.

    Pass :meth:`set` as ``on_step`` to :func:`core.priors.ddim.sample` / :func:`core.priors.ddim.invert`.
    """

    def __init__(self):
        self.timestep: Optional[int] = None

    def set(self, timestep: int) -> None:
        self.timestep = int(timestep)


def _check_supported(attn, hidden_states: torch.Tensor, attention_mask) -> None:
    if hidden_states.ndim != 3 or attn.spatial_norm is not None or attn.group_norm is not None or attention_mask is not None:
        raise NotImplementedError("core.priors processors handle transformer-block self-attention (B,L,C tokens, "
                                  "no spatial/group norm, no mask) only")


def project_qkv(attn, hidden_states: torch.Tensor, attention_mask=None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Self-attention queries, keys and values of ``hidden_states`` ``B,L,C``, each ``B,heads,L,d``."""
    _check_supported(attn, hidden_states, attention_mask)
    batch = hidden_states.shape[0]

    def heads(x: torch.Tensor) -> torch.Tensor:
        return x.view(batch, -1, attn.heads, x.shape[-1] // attn.heads).transpose(1, 2)

    q, k = heads(attn.to_q(hidden_states)), heads(attn.to_k(hidden_states))
    if attn.norm_q is not None:
        q = attn.norm_q(q)
    if attn.norm_k is not None:
        k = attn.norm_k(k)
    return q, k, heads(attn.to_v(hidden_states))


def attention_heads(attn, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, logit_scale: float = 1.0,
                    bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """softmax(logit_scale · q·kᵀ·attn.scale + bias)·v per head: ``q`` ``B,heads,Lq,d``, ``k``/``v`` ``B,heads,Lk,d``,
    ``bias`` broadcastable to ``B,heads,Lq,Lk``; returns ``B,heads,Lq,d``."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=0.0, scale=attn.scale * logit_scale)


def project_out(attn, heads: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """Merge heads ``B,heads,L,d`` → ``B,L,heads·d`` and apply the module's output projection (and residual).

    ``residual``: the processor's input ``hidden_states`` (added when the module has a residual connection).
    """
    batch, n_heads, _, dim = heads.shape
    out = heads.transpose(1, 2).reshape(batch, -1, n_heads * dim)
    out = attn.to_out[1](attn.to_out[0](out))
    if attn.residual_connection:
        out = out + residual
    return out / attn.rescale_output_factor


def attend(attn, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, residual: torch.Tensor,
           logit_scale: float = 1.0) -> torch.Tensor:
    """:func:`attention_heads` then :func:`project_out`; returns ``B,L,C``."""
    return project_out(attn, attention_heads(attn, q, k, v, logit_scale), residual)


def match_statistics(x: torch.Tensor, reference: torch.Tensor, dims: Tuple[int, ...], eps: float = 1e-5) -> torch.Tensor:
    """AdaIN: renormalise ``x`` to the mean and std of ``reference`` taken over ``dims`` (std = √(biased var + eps)).

    ``reference`` broadcasts against ``x`` outside ``dims`` (e.g. one reference for a batch).
    """
    def stats(t: torch.Tensor):
        return t.mean(dims, keepdim=True), (t.var(dims, keepdim=True, unbiased=False) + eps).sqrt()

    x_mean, x_std = stats(x)
    r_mean, r_std = stats(reference)
    return (x - x_mean) / x_std * r_std + r_mean


class SelfAttention:
    """Plain self-attention written with :func:`project_qkv` and :func:`attend` (same result as diffusers').

    Subclasses override :meth:`compute`.
    """

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None,
                 temb=None, **unused) -> torch.Tensor:
        if encoder_hidden_states is not None:
            raise NotImplementedError("core.priors processors are for self-attention (attn1) layers only")
        q, k, v = project_qkv(attn, hidden_states, attention_mask)
        return self.compute(attn, q, k, v, hidden_states)

    def compute(self, attn, q, k, v, residual) -> torch.Tensor:
        return attend(attn, q, k, v, residual)


def self_attention_layers(unet, part: str = "decoder") -> List[str]:
    """Processor names of the UNet's self-attention (``attn1``) layers in network order.

    ``part``: ``"decoder"`` (``up_blocks``) or ``"all"`` (down, mid and up blocks).
    """
    names = [name for name in unet.attn_processors if name.endswith(".attn1.processor")]
    if part == "decoder":
        return [name for name in names if name.startswith("up_blocks.")]
    if part == "all":
        return names
    raise ValueError(f"part must be 'decoder' or 'all', got {part!r}")


def select_layers(available: Sequence[str], spec: LayerSpec, default_last: Optional[int] = None) -> List[str]:
    """Pick layers from ``available`` (ordered processor names).

    ``spec``: None → the last ``default_last`` layers (all when ``default_last`` is None or larger than the
    list); otherwise a sequence of indices into ``available`` (negative counts from the end) and/or names.
    Raises :class:`InputError` naming the valid range for an unknown index or name.
    """
    if spec is None:
        return list(available if default_last is None else available[-default_last:])
    chosen = []
    for item in spec:
        if isinstance(item, str) and item in available:
            chosen.append(item)
        elif isinstance(item, int) and -len(available) <= item < len(available):
            chosen.append(available[item])
        else:
            raise InputError(f"unknown attention layer {item!r}: use indices 0..{len(available) - 1} "
                             f"(or negative from the end) of {len(available)} self-attention layers")
    return list(dict.fromkeys(chosen))


@contextlib.contextmanager
def installed_processors(unet, processors: Dict[str, object]) -> Iterator[None]:
    """Install ``processors`` (name → processor) on ``unet`` for the block; restore every previous processor after."""
    saved = unet.attn_processors
    unknown = set(processors) - set(saved)
    if unknown:
        raise ValueError(f"no attention layers named {sorted(unknown)}")
    unet.set_attn_processor({**saved, **processors})
    try:
        yield
    finally:
        unet.set_attn_processor(dict(saved))
