"""One rendering entry point for Gaussian scenes: :func:`render`, with a pure-torch and a gsplat backend."""

from __future__ import annotations

import dataclasses
from typing import Optional

import torch

from core.errors import DeviceError, InputError
from stylize3d.cameras import Cameras
from stylize3d.splats.scene import GaussianScene

BACKENDS = ("auto", "torch", "gsplat")


@dataclasses.dataclass
class RenderOutput:
    """rgb ``B,3,H,W`` (≥ 0, normally in [0,1]), alpha ``B,1,H,W`` in [0,1], depth ``B,1,H,W`` expected camera z
    (0 where alpha is 0).

    What densification strategies (gsplat's ``DefaultStrategy``) read, from :func:`render` only: ``means2d``
    ``B,N,2`` projected centres in pixels, a non-leaf tensor of the graph (call ``retain_grad()`` before the
    backward pass to get its gradient), and ``radii`` ``B,N,2`` int32 screen-space half-sizes (0: not drawn)."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
    means2d: Optional[torch.Tensor] = None
    radii: Optional[torch.Tensor] = None


def resolve_backend(name: str, device: torch.device) -> str:
    """``auto`` → gsplat on CUDA, torch elsewhere; ``gsplat`` without CUDA raises :class:`DeviceError`."""
    if name not in BACKENDS:
        raise InputError(f"unknown renderer backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "gsplat" if device.type == "cuda" else "torch"
    if name == "gsplat" and (device.type != "cuda" or not torch.cuda.is_available()):
        raise DeviceError("the gsplat backend needs a CUDA device; use --backend torch")
    return name


def render(scene: GaussianScene, cameras: Cameras, width: int, height: int,
           background: "torch.Tensor | tuple[float, float, float]" = (0.0, 0.0, 0.0),
           sh_degree: int | None = None, backend: str = "auto") -> RenderOutput:
    """Render ``scene`` from every camera at ``width x height`` (intrinsics are rescaled to that size).

    ``background``: a colour (3) or one per camera (``B,3``) in [0,1]. ``sh_degree``: SH degree to evaluate
    (default and maximum: the scene's). ``backend``: ``torch``, ``gsplat`` (CUDA only) or ``auto``.
    """
    degree = scene.sh_degree if sh_degree is None else min(int(sh_degree), scene.sh_degree)
    cams = cameras.scaled_to(width, height)
    device, dtype = scene.means.device, scene.means.dtype
    viewmats, Ks = cams.viewmats.to(device, dtype), cams.Ks.to(device, dtype)
    bg = torch.as_tensor(background, dtype=dtype, device=device).expand(len(cams), 3)
    kind = resolve_backend(backend, device)
    if kind == "gsplat":
        from stylize3d.splats.render.gsplat_backend import render_gsplat

        return RenderOutput(*render_gsplat(scene, viewmats, Ks, width, height, bg, degree))
    from stylize3d.splats.render.torch_backend import render_torch

    return RenderOutput(*render_torch(scene, viewmats, Ks, width, height, bg, degree))


@torch.no_grad()
def render_all(scene: GaussianScene, cameras: Cameras, width: int, height: int,
               background: "torch.Tensor | tuple[float, float, float]" = (1.0, 1.0, 1.0), sh_degree: int | None = None,
               backend: str = "auto", batch: int = 4) -> RenderOutput:
    """:func:`render` without gradient, ``batch`` cameras at a time; rgb clamped to [0,1], results on the CPU."""
    parts = [render(scene, cameras[i:i + batch], width, height, background, sh_degree, backend)
             for i in range(0, len(cameras), batch)]
    rgb, alpha, depth = (torch.cat([getattr(p, name) for p in parts]).cpu() for name in ("rgb", "alpha", "depth"))
    return RenderOutput(rgb.clamp(0, 1), alpha, depth)
