"""Between nerfstudio's splatfacto tensors and this toolkit's scenes and cameras (plain torch, no nerfstudio import).

* :func:`splatfacto_scene`: splatfacto's ``gauss_params`` (``means`` ``N,3``, ``scales`` ``N,3`` log,
  ``quats`` ``N,4`` wxyz, ``features_dc`` ``N,3``, ``features_rest`` ``N,K-1,3``, ``opacities`` ``N,1`` logit)
  → a :class:`GaussianScene` sharing the tensors (so gradients flow back into the splatfacto parameters).
* :func:`nerfstudio_cameras`: nerfstudio camera tensors (``camera_to_worlds`` ``B,3,4`` OpenGL axes: x right,
  y up, −z forward; ``fx fy cx cy`` and ``width height`` ``B,1``) → :class:`Cameras` (OpenCV world-to-camera).
* :func:`render_splatfacto`: our renderer (``backend="torch"`` runs on any device) → splatfacto's output dict
  ``rgb`` ``H,W,3``, ``accumulation`` ``H,W,1``, ``depth`` ``H,W,1``, ``background`` ``3``.
"""

from __future__ import annotations

from typing import Mapping

import torch

from stylize3d.cameras import Cameras, c2w_opengl_to_viewmat
from stylize3d.splats.render import render
from stylize3d.splats.scene import GaussianScene

SPLATFACTO_PARAMS = ("means", "scales", "quats", "features_dc", "features_rest", "opacities")


def splatfacto_scene(params: Mapping[str, torch.Tensor]) -> GaussianScene:
    """A scene view of splatfacto's ``gauss_params`` (see the module docstring); no copies, no detaching."""
    missing = [name for name in SPLATFACTO_PARAMS if name not in params]
    if missing:
        raise KeyError(f"splatfacto parameters lack {', '.join(missing)}")
    dc, rest = params["features_dc"], params["features_rest"]
    sh = torch.cat([dc[:, None, :], rest.reshape(dc.shape[0], -1, 3)], dim=1)
    return GaussianScene(params["means"], params["quats"], params["scales"], params["opacities"].reshape(-1), sh)


def nerfstudio_cameras(camera_to_worlds: torch.Tensor, fx: torch.Tensor, fy: torch.Tensor, cx: torch.Tensor,
                       cy: torch.Tensor, width: torch.Tensor, height: torch.Tensor) -> Cameras:
    """Our cameras from nerfstudio's tensors (``B,3,4`` OpenGL camera-to-world; intrinsics and sizes ``B,1`` or
    ``B``): ``viewmat = inv(c2w @ diag(1, −1, −1, 1))``, ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``."""
    c2w = camera_to_worlds.reshape(-1, 3, 4)
    b = c2w.shape[0]
    bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=c2w.dtype, device=c2w.device).expand(b, 1, 4)
    viewmats = c2w_opengl_to_viewmat(torch.cat([c2w, bottom], dim=1))
    Ks = torch.zeros(b, 3, 3, dtype=torch.float32, device=c2w.device)
    Ks[:, 0, 0], Ks[:, 1, 1] = fx.reshape(b), fy.reshape(b)
    Ks[:, 0, 2], Ks[:, 1, 2] = cx.reshape(b), cy.reshape(b)
    Ks[:, 2, 2] = 1.0
    return Cameras(viewmats, Ks, width.reshape(b).long().cpu(), height.reshape(b).long().cpu())


def render_splatfacto(params: Mapping[str, torch.Tensor], cameras: Cameras, background: torch.Tensor,
                      sh_degree: int, backend: str = "torch") -> dict:
    """Render splatfacto parameters from one camera at its own size with our renderer.

    ``background``: ``3`` in [0,1]. Returns splatfacto's keys: ``rgb`` ``H,W,3`` clamped to [0,1],
    ``accumulation`` ``H,W,1`` (alpha), ``depth`` ``H,W,1`` (expected camera z: accumulated z / alpha, 0 where
    nothing is drawn, as splatfacto's) and ``background``.
    """
    if len(cameras) != 1:
        raise ValueError(f"render_splatfacto takes one camera, got {len(cameras)}")
    width, height = int(cameras.widths[0]), int(cameras.heights[0])
    out = render(splatfacto_scene(params), cameras, width, height, background.reshape(1, 3), sh_degree, backend)
    alpha = out.alpha[0].permute(1, 2, 0)
    depth = out.depth[0].permute(1, 2, 0)
    return {"rgb": out.rgb[0].permute(1, 2, 0).clamp(0.0, 1.0), "accumulation": alpha, "depth": depth,
            "background": background.reshape(3)}
