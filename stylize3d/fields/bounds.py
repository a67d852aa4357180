"""The scene box of a field fit: a cube around the cameras, its grid resolution, and the visual hull of alpha
masks that shrinks the box and seeds the occupancy grid (see :mod:`stylize3d.fields.fit`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from stylize3d.cameras import Cameras
from stylize3d.fields.grid import RadianceField


def resolution_for(box_min: torch.Tensor, box_max: torch.Tensor, voxels: int, contracted: bool = False) -> tuple:
    """``(D, H, W)`` with about ``voxels`` grid points and cubic voxels over the box (or the contracted cube)."""
    extent = torch.full((3,), 4.0) if contracted else (box_max - box_min).double().cpu()
    size = float((extent.prod() / voxels) ** (1 / 3))
    x, y, z = (max(2, int(round(float(e) / size)) + 1) for e in extent)
    return z, y, x


def focus_point(cameras: Cameras) -> torch.Tensor:
    """``3``: the point closest (least squares) to every camera's optical axis."""
    c = cameras.centers().double()
    d = F.normalize(cameras.forward_dirs().double(), dim=-1)
    eye = torch.eye(3, dtype=torch.float64)
    proj = eye - d[:, :, None] * d[:, None, :]
    a = proj.sum(0)
    b = (proj @ c[:, :, None]).sum(0)[:, 0]
    if torch.linalg.matrix_rank(a) < 3:  # all axes parallel: a point in front of the mean camera
        return (c.mean(0) + d.mean(0)).float()
    return torch.linalg.solve(a, b).float()


def box_from_cameras(cameras: Cameras, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A cube around the cameras' :func:`focus_point`, half-size ``scale`` × the median camera distance to it
    (the object of a capture that circles it lies within the cameras' sphere)."""
    focus = focus_point(cameras)
    radius = float((cameras.centers() - focus).norm(dim=-1).median()) * scale
    return focus - radius, focus + radius


def visual_hull(field: RadianceField, cameras: Cameras, alphas: torch.Tensor, threshold: float = 0.05,
                min_views: float = 0.1) -> torch.Tensor:
    """``D,H,W`` bool: grid points inside the images of at least ``min_views`` (a fraction, and at least 2) of
    the views that no view sees over an (almost) transparent pixel (``alpha < threshold``).

    ``alphas`` ``N,1,H,W`` of ``cameras``. A point outside a view's image or behind it is not carved by that
    view; a point (almost) no view sees is unconstrained space next to a camera and is dropped. Points are
    dilated by one voxel so thin surfaces between grid points survive.
    """
    pts = field.voxel_centres().reshape(-1, 3)
    if field.contracted:
        raise ValueError("visual hull carving is for uncontracted fields")
    keep = torch.ones(pts.shape[0], dtype=torch.bool, device=pts.device)
    seen = torch.zeros(pts.shape[0], dtype=torch.int32, device=pts.device)
    h, w = alphas.shape[-2:]
    cams = cameras.scaled_to(w, h).to(pts.device)
    for i in range(len(cams)):
        cam = cams.viewmats[i, :3, :3] @ pts.T + cams.viewmats[i, :3, 3:]
        uvz = cams.Ks[i] @ cam
        z = uvz[2]
        uv = uvz[:2] / z.clamp_min(1e-6)
        inside = (z > 1e-6) & (uv[0] >= 0) & (uv[0] < w) & (uv[1] >= 0) & (uv[1] < h)
        grid = torch.stack([uv[0] / w * 2 - 1, uv[1] / h * 2 - 1], dim=-1).view(1, 1, -1, 2)
        a = F.grid_sample(alphas[i:i + 1].to(pts), grid, mode="bilinear", align_corners=False).view(-1)
        keep &= ~(inside & (a < threshold))
        seen += inside
    occ = (keep & (seen >= max(2, math.ceil(min_views * len(cams))))).view(field.resolution)
    return F.max_pool3d(occ[None, None].float(), 3, stride=1, padding=1)[0, 0] > 0
