"""EWA splatting: 3D covariances from rotations and scales, and their perspective projection to 2D.

Follows the rules gsplat uses (so that its pure-torch reference agrees to float precision): the Jacobian is
evaluated at the mean clamped to 1.3x the field of view, 0.3 px² is added to the 2D covariance (low-pass
dilation), the bounding radius per axis is ``ceil(extend * sqrt(cov2d diag))`` with ``extend = 3.33`` or, when
opacities are given, the opacity-aware ``min(3.33, sqrt(2 ln(255 o)))`` with Gaussians under 1/255 culled.
"""

from __future__ import annotations

import dataclasses

import torch

from stylize3d.rotations import quat_to_rotmat

ALPHA_THRESHOLD = 1.0 / 255.0


def quat_scale_to_covar(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """World covariances ``N,3,3 = (R S)(R S)^T`` from quaternions ``N,4`` and (activated) scales ``N,3``."""
    m = quat_to_rotmat(quats) * scales[..., None, :]
    return m @ m.transpose(-1, -2)


@dataclasses.dataclass
class Projected:
    """Screen-space Gaussians for C cameras.

    means2d ``C,N,2`` pixels (pixel centres at +0.5); conics ``C,N,3`` = (a, b, c) of the inverse 2D covariance
    ``[[a, b], [b, c]]``; depths ``C,N`` camera z; radii ``C,N,2`` int32 bounding half-sizes, 0 = culled.
    """

    means2d: torch.Tensor
    conics: torch.Tensor
    depths: torch.Tensor
    radii: torch.Tensor


def project_gaussians(means: torch.Tensor, covars: torch.Tensor, viewmats: torch.Tensor, Ks: torch.Tensor,
                      width: int, height: int, eps2d: float = 0.3, near_plane: float = 0.01,
                      far_plane: float = 1e10, opacities: torch.Tensor | None = None) -> Projected:
    """Project ``N`` Gaussians (``means N,3``, ``covars N,3,3``) into ``C`` pinhole cameras (``viewmats C,4,4``
    OpenCV world-to-camera, ``Ks C,3,3``) for ``width x height`` images. ``opacities`` (``N``, activated)
    enables the opacity-aware radius and culling of the CUDA rasterizer."""
    R, t = viewmats[:, :3, :3], viewmats[:, :3, 3]
    mean_c = torch.einsum("cij,nj->cni", R, means) + t[:, None, :]
    cov_c = torch.einsum("cij,njk,clk->cnil", R, covars, R)
    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    x, y, z = mean_c.unbind(-1)
    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    u = torch.clamp(x / z, min=-(cx / fx + 0.3 * tan_x), max=(width - cx) / fx + 0.3 * tan_x)
    v = torch.clamp(y / z, min=-(cy / fy + 0.3 * tan_y), max=(height - cy) / fy + 0.3 * tan_y)
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * u / z, zero, fy / z, -fy * v / z], dim=-1).reshape(z.shape + (2, 3))
    cov2d = J @ cov_c @ J.transpose(-1, -2)
    a = cov2d[..., 0, 0] + eps2d
    c = cov2d[..., 1, 1] + eps2d
    b = 0.5 * (cov2d[..., 0, 1] + cov2d[..., 1, 0])
    det = (a * c - cov2d[..., 0, 1] * cov2d[..., 1, 0]).clamp(min=1e-10)
    conics = torch.stack([c / det, -b / det, a / det], dim=-1)
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)

    with torch.no_grad():
        valid = (det > 0) & (z > near_plane) & (z < far_plane)
        extend = torch.full_like(z, 3.33)
        if opacities is not None:
            o = opacities.detach().to(z.dtype).expand_as(z)
            valid &= o >= ALPHA_THRESHOLD
            extend = torch.minimum(extend, torch.sqrt(2 * torch.log(o.clamp(min=ALPHA_THRESHOLD) / ALPHA_THRESHOLD)))
        radii = torch.stack([torch.ceil(extend * torch.sqrt(a)), torch.ceil(extend * torch.sqrt(c))], dim=-1)
        m = means2d.detach()
        inside = ((m[..., 0] + radii[..., 0] > 0) & (m[..., 0] - radii[..., 0] < width)
                  & (m[..., 1] + radii[..., 1] > 0) & (m[..., 1] - radii[..., 1] < height))
        keep = valid & inside & (radii.amax(dim=-1) > 0)
        radii = torch.where(keep[..., None], radii, torch.zeros_like(radii)).to(torch.int32)
    return Projected(means2d, conics, z, radii)

