"""Real spherical harmonics up to degree 3, shared by Gaussian splats and radiance fields.

The basis and its sign convention are those of 3DGS and gsplat (``Y_1 = (-C1·y, C1·z, -C1·x)``, …), so SH
coefficients read from a 3DGS PLY or written for one mean the same colours here. Coefficient ``k`` of a colour
channel weighs basis function ``Y_k``; ``K = (degree+1)^2`` coefficients per channel. What the sum becomes is the
representation's business: splats add 0.5 and clamp at 0 (3DGS), fields take the sigmoid.
"""

import torch

SH_C0 = 0.28209479177387814
"""Degree-0 constant ``Y_0``: colour = 0.5 + SH_C0 * f_dc for view-independent splats."""
SH_C1 = 0.4886025119029199
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
SH_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
         -0.4570457994644658, 1.445305721320277, -0.5900435899266435)


def sh_basis(degree: int, dirs: torch.Tensor) -> torch.Tensor:
    """Basis values ``...,(degree+1)^2`` at unit directions ``...,3`` (x, y, z)."""
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [SH_C2[0] * x * y, SH_C2[1] * y * z, SH_C2[2] * (2 * zz - xx - yy),
                SH_C2[3] * x * z, SH_C2[4] * (xx - yy)]
    if degree >= 3:
        out += [SH_C3[0] * y * (3 * xx - yy), SH_C3[1] * x * y * z, SH_C3[2] * y * (4 * zz - xx - yy),
                SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy), SH_C3[4] * x * (4 * zz - xx - yy),
                SH_C3[5] * z * (xx - yy), SH_C3[6] * x * (xx - 3 * yy)]
    return torch.stack(out, dim=-1)


def eval_sh(degree: int, dirs: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """``Σ_k Y_k(d) · coeffs_k`` ``...,3``: SH ``coeffs`` (``...,K,3``, K ≥ (degree+1)^2; only the first
    (degree+1)^2 are used) seen along ``dirs`` (``...,3``, any length: normalised here). Unbounded; splats add 0.5
    and clamp at 0 to get the rendered colour, as 3DGS and gsplat do, fields take the sigmoid."""
    k = (degree + 1) ** 2
    dirs = torch.nn.functional.normalize(dirs, dim=-1)
    return (sh_basis(degree, dirs)[..., None] * coeffs[..., :k, :]).sum(dim=-2)
