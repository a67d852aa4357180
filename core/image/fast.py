"""The quick stylization path (``--method fast``): a few Gram steps at a low working size, then detail restored.

Recipe (chosen from the frontier in ``benchmarks/bench_fast.py``, BENCHMARKS.md "Fast path"):

1. Shrink the photo to ``work_size`` px on its long side (208 by default) and recolour it to the style's RGB
   mean/covariance (ARF's affine colour transfer, :func:`core.colour.match_colour_stats`): the start image.
2. ``steps`` L-BFGS steps (3 by default; :func:`core.image.lbfgs_numpy.lbfgs_steps`, one loss+gradient
   evaluation each) on the shared :class:`core.losses.objective.StyleObjective`: relative Gram loss on
   ``relu1_1 … relu4_1`` (relu4_1 is where the style distance of :mod:`core.metrics` lives) plus the relative
   ``relu4_2`` content loss, ``style_weight`` 5. The first step is steepest descent moving no pixel by more than
   ``first_step`` (0.2), the later ones use the curvature it measured.
3. Upsample to the photo's size (bicubic) and add back ``detail ×`` the photo's own high frequencies (the photo
   minus its working-size copy upsampled), so a 512 px result is sharp where the style was painted at 208 px.

Two engines run this recipe: torch autograd here (any device), and ONNX Runtime with a hand-built gradient graph
on the CPU (:mod:`core.image.fast_ort`, no torch at run time: what ``stylize image --method fast`` uses on a
CPU). They share the optimiser and the colour algebra; their results agree to resampling differences.

No decoder is involved (the shipped AdaIN decoder is under-trained, see ``core/nn/weights/MODEL_CARD.md``) and
no random numbers are drawn: the same inputs give a bit-identical result on the same machine and thread count.
"""

from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F

from core.colour import luminance_transfer, match_colour_stats
from core.errors import InputError
from core.io.images import resize_long_side
from core.image.fast_config import FAST_STYLE_LAYERS, FastConfig  # noqa: F401 (FAST_STYLE_LAYERS: re-exported)
from core.image.lbfgs_numpy import lbfgs_steps
from core.progress import steps_progress
from core.losses.objective import MIN_VGG_SIDE, StyleObjective
from core.nn.vgg import load_vgg19

def working_copy(image: torch.Tensor, work_size: int) -> torch.Tensor:
    """``image`` ``B,3,H,W`` in [0,1] shrunk to ``work_size`` px on its long side (never enlarged)."""
    return resize_long_side(image, work_size) if max(image.shape[-2:]) > work_size else image


def restore_detail(stylized: torch.Tensor, content: torch.Tensor, content_small: torch.Tensor,
                   amount: float) -> torch.Tensor:
    """Upsample ``stylized`` ``B,3,h,w`` to ``content``'s ``B,3,H,W`` (bicubic) and add ``amount ×`` the content's
    detail above the working band, ``content − upsample(content_small)``; all in [0,1], result clamped."""
    size = content.shape[-2:]
    if stylized.shape[-2:] == size:
        return stylized
    up = F.interpolate(stylized, size=size, mode="bicubic", align_corners=False)
    if amount > 0:
        base = F.interpolate(content_small, size=size, mode="bicubic", align_corners=False)
        up = up + amount * (content - base)
    return up.clamp(0.0, 1.0)


def stylize_fast(content: torch.Tensor, style: torch.Tensor, config: FastConfig | None = None,
                 encoder=None, progress: bool = False) -> torch.Tensor:
    """Stylize ``content`` ``B,3,H,W`` in [0,1] after one ``style`` ``1,3,h,w`` in [0,1]; returns ``B,3,H,W`` in
    [0,1] on ``content``'s device. ``encoder``: a VGG19 to reuse (default: the shared one for the device)."""
    config = config or FastConfig()
    config.validate()
    small = working_copy(content, config.work_size)
    if min(small.shape[-2:]) < MIN_VGG_SIDE:
        raise InputError(f"the working image would be {small.shape[-1]}x{small.shape[-2]} px; its short side needs "
                         f"at least {MIN_VGG_SIDE} px: raise the work size")
    device = content.device
    style = style.to(device)
    start = torch.cat([match_colour_stats(small[i:i + 1], style) for i in range(small.shape[0])])
    x = start
    if config.steps > 0:
        encoder = encoder if encoder is not None else load_vgg19(device)
        objective = StyleObjective(config.loss_config(), device, encoder).set_style([style], max(small.shape[-2:]))

        def loss_and_gradient(values: np.ndarray):
            image = torch.from_numpy(values).to(device=device, dtype=torch.float32).requires_grad_(True)
            terms = objective.terms(image, small, key="content")
            total = objective.weighted_total(terms)
            (gradient,) = torch.autograd.grad(total, image)
            return (float(total.detach()), gradient.double().cpu().numpy(),
                    {k: float(v.detach()) for k, v in terms.items()})

        with steps_progress(config.steps, f"fast {small.shape[-1]}x{small.shape[-2]}", progress) as on_step:
            result = lbfgs_steps(loss_and_gradient, start.double().cpu().numpy(), config.steps,
                                 first_step=config.first_step, on_step=on_step)
        x = torch.from_numpy(result.x).to(device=device, dtype=torch.float32)
    image = restore_detail(x, content, small, config.detail)
    if config.preserve_color:
        image = luminance_transfer(image, content).clamp(0, 1)
    return image

