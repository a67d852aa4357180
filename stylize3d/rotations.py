"""Rotations as unit quaternions and 3x3 matrices (torch), the one place the package converts between them.

A quaternion is ``w,x,y,z`` (scalar first, the order of 3DGS PLY files, gsplat and viser) and stands for the
rotation matrix ``R`` with ``p_rotated = R p``; ``q`` and ``-q`` are the same rotation.
"""

from __future__ import annotations

import torch


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """``...,4`` quaternions ``w,x,y,z`` (normalised here, any length but zero) → ``...,3,3`` rotation matrices,
    in the quaternions' dtype and differentiable."""
    w, x, y, z = torch.nn.functional.normalize(quats, dim=-1).unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(quats.shape[:-1] + (3, 3))


def rotmat_to_quat(rotmats: torch.Tensor) -> torch.Tensor:
    """``...,3,3`` proper rotations (orthonormal, det +1) → ``...,4`` float64 unit quaternions ``w,x,y,z`` with
    ``w >= 0``.

    Each component's magnitude comes from the diagonal, the signs of ``x, y, z`` from the antisymmetric part; near
    180° rotations that part vanishes and the signs are not reliable there.
    """
    R = rotmats.to(torch.float64)
    r00, r11, r22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    w = torch.sqrt(torch.clamp(1 + r00 + r11 + r22, min=0)) / 2
    x = torch.sqrt(torch.clamp(1 + r00 - r11 - r22, min=0)) / 2
    y = torch.sqrt(torch.clamp(1 - r00 + r11 - r22, min=0)) / 2
    z = torch.sqrt(torch.clamp(1 - r00 - r11 + r22, min=0)) / 2
    x = torch.copysign(x, R[..., 2, 1] - R[..., 1, 2])
    y = torch.copysign(y, R[..., 0, 2] - R[..., 2, 0])
    z = torch.copysign(z, R[..., 1, 0] - R[..., 0, 1])
    return torch.nn.functional.normalize(torch.stack([w, x, y, z], dim=-1), dim=-1)


def slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical linear interpolation of unit quaternions ``q0``, ``q1`` (``...,4``) at ``t`` (``...,1``, 0 → ``q0``,
    1 → ``q1``; broadcast against them) along the shorter arc (``q1`` is flipped when ``q0 · q1 < 0``); → ``...,4``
    unit quaternions. Nearly equal rotations (angle under 1e-6) are blended linearly."""
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    angle = torch.acos(dot)
    small = angle < 1e-6
    sin = torch.sin(angle).clamp(min=1e-12)
    w0 = torch.where(small, 1 - t, torch.sin((1 - t) * angle) / sin)
    w1 = torch.where(small, t, torch.sin(t * angle) / sin)
    return torch.nn.functional.normalize(w0 * q0 + w1 * q1, dim=-1)
