"""Nearest-neighbour feature matching (NNFM) loss of ARF (Zhang et al. 2022).

For every output feature vector ``F_out(i)``: ``1 − max_j cos(F_out(i), F_style(j))``, averaged over i.
The cosine matrix is built a block of output positions at a time, sized so that a block holds at most
``chunk_elements`` entries whatever the image and style sizes (memory does not grow with either).
"""

import torch
import torch.nn.functional as F

from core.losses._common import at_least_float32


def _flatten_unit(features: torch.Tensor) -> torch.Tensor:
    """``B,C,H,W`` → ``B,H·W,C`` with each vector L2-normalised (zero vectors stay zero)."""
    b, c, h, w = features.shape
    flat = at_least_float32(features).reshape(b, c, h * w).transpose(1, 2)
    return F.normalize(flat, dim=2, eps=1e-8)


CHUNK_ELEMENTS = 2 ** 24
"""Cosine entries computed at once (64 MiB of float32)."""


def nnfm_loss(features: torch.Tensor, style_features: torch.Tensor,
              chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    """NNFM loss between ``features`` ``B,C,H,W`` and ``style_features`` ``Bs,C,Hs,Ws`` (Bs = 1 or B).

    With ``Bs = 1`` every output image matches against the one style; otherwise image b against style b.
    Returns a scalar in ``[0, 2]``; 0 when every output vector is parallel to some style vector.
    The nearest neighbour is chosen without gradient; the gradient flows through the chosen cosine.
    """
    out = _flatten_unit(features)
    style = _flatten_unit(style_features)
    if style.shape[0] not in (1, out.shape[0]):
        raise ValueError(f"style batch {style.shape[0]} must be 1 or match the output batch {out.shape[0]}")
    style = style.expand(out.shape[0], -1, -1)
    rows = max(1, chunk_elements // max(1, out.shape[0] * style.shape[1]))
    losses = []
    for start in range(0, out.shape[1], rows):
        chunk = out[:, start:start + rows]
        with torch.no_grad():
            nearest = torch.bmm(chunk, style.transpose(1, 2)).argmax(dim=2)
        matched = torch.gather(style, 1, nearest.unsqueeze(-1).expand(-1, -1, style.shape[2]))
        losses.append(1.0 - (chunk * matched).sum(dim=2))
    return torch.cat(losses, dim=1).mean()
