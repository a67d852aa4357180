"""gsplat CUDA backend: ``gsplat.rasterization`` on a CUDA device.

Never called without CUDA: gsplat's CUDA path tries a JIT build on machines without a GPU and crashes.
"""

from __future__ import annotations

import torch

from core.errors import DeviceError
from stylize3d.splats.scene import GaussianScene


def render_gsplat(scene: GaussianScene, viewmats: torch.Tensor, Ks: torch.Tensor, width: int, height: int,
                  background: torch.Tensor, sh_degree: int) -> tuple[torch.Tensor, ...]:
    """Same contract as :func:`stylize3d.splats.render.torch_backend.render_torch`, through gsplat's fused CUDA kernels."""
    if not torch.cuda.is_available() or scene.means.device.type != "cuda":
        raise DeviceError("the gsplat backend needs the scene on a CUDA device")
    from gsplat import rasterization

    colors, alphas, info = rasterization(
        means=scene.means, quats=scene.quats, scales=torch.exp(scene.log_scales),
        opacities=torch.sigmoid(scene.opacity_logits), colors=scene.sh[:, : (sh_degree + 1) ** 2],
        viewmats=viewmats, Ks=Ks, width=width, height=height, sh_degree=sh_degree,
        backgrounds=background, render_mode="RGB+ED", packed=False,
    )
    rgb = colors[..., :3].permute(0, 3, 1, 2)
    alpha = alphas.permute(0, 3, 1, 2)
    depth = torch.where(alpha > 0, colors[..., 3:4].permute(0, 3, 1, 2), torch.zeros_like(alpha))
    return rgb, alpha, depth, info["means2d"], info["radii"]
