"""Compare recovered cameras with known ones: Umeyama similarity alignment and pose errors."""

from __future__ import annotations

import math

import torch

from stylize3d.cameras import Cameras


def umeyama(src: torch.Tensor, dst: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Least-squares similarity ``dst ≈ s·R·src + t`` between ``N,3`` point sets (Umeyama 1991): returns
    ``(s, R 3x3, t 3)`` in float64, ``R`` a proper rotation."""
    src, dst = src.double(), dst.double()
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, sigma, vt = torch.linalg.svd(cov)
    d = torch.ones(3, dtype=torch.float64)
    if torch.det(u) * torch.det(vt) < 0:
        d[2] = -1
    R = u @ torch.diag(d) @ vt
    var_s = xs.pow(2).sum() / len(src)
    s = float((sigma * d).sum() / var_s)
    return s, R, mu_d - s * R @ mu_s


def pose_errors(recovered: Cameras, truth: Cameras) -> dict[str, float]:
    """Align ``recovered`` camera centres to ``truth`` (same order) with :func:`umeyama`, then report the largest
    and mean rotation error in degrees and the largest and mean centre error relative to the extent of the true
    centres (largest distance of a true centre from their mean)."""
    s, R, t = umeyama(recovered.centers(), truth.centers())
    aligned = (s * (R @ recovered.centers().double().T)).T + t
    true_c = truth.centers().double()
    extent = float((true_c - true_c.mean(0)).norm(dim=1).max())
    centre_err = (aligned - true_c).norm(dim=1) / extent
    # a world rotation R maps the recovered world-to-camera rotation W to W·Rᵀ in the true frame
    rel = truth.viewmats[:, :3, :3].double() @ (recovered.viewmats[:, :3, :3].double() @ R.T).transpose(1, 2)
    cos = ((rel.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1)
    rot_err = torch.rad2deg(torch.acos(cos))
    return {"rotation_max_deg": float(rot_err.max()), "rotation_mean_deg": float(rot_err.mean()),
            "centre_max_rel": float(centre_err.max()), "centre_mean_rel": float(centre_err.mean()),
            "scale": s, "extent": extent}
