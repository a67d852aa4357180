"""A 3D Gaussian splat scene: raw (un-activated) parameters as tensors, as stored in 3DGS PLY files.

Activation happens in the renderers: ``scales = exp(log_scales)``, ``opacity = sigmoid(opacity_logits)``,
quaternions (``w, x, y, z``) are normalised, colour = ``0.5 + SH(view direction)`` clamped at 0 (the basis:
:mod:`stylize3d.sh`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import torch


def num_sh_coeffs(degree: int) -> int:
    """Number of SH coefficients per colour channel for ``degree`` (1, 4, 9, 16 for degrees 0..3)."""
    return (degree + 1) ** 2


def sh_degree_from_coeffs(count: int) -> int:
    """Inverse of :func:`num_sh_coeffs`; raises ``ValueError`` when ``count`` is not a square 1..16."""
    degree = math.isqrt(count) - 1
    if count not in (1, 4, 9, 16) or num_sh_coeffs(degree) != count:
        raise ValueError(f"{count} SH coefficients per channel is not a degree 0-3 layout")
    return degree


@dataclasses.dataclass
class GaussianScene:
    """N Gaussians with raw parameters.

    Attributes:
        means: ``N,3`` world positions.
        quats: ``N,4`` rotations as quaternions ``w, x, y, z`` (need not be normalised).
        log_scales: ``N,3`` natural logs of the standard deviations along the local axes.
        opacity_logits: ``N`` logits of the opacities in (0, 1).
        sh: ``N,K,3`` SH coefficients, ``K = (degree+1)^2``; ``sh[:, 0]`` is ``f_dc``, ``sh[:, 1:]`` is ``f_rest``.
    """

    representation: ClassVar[str] = "splats"
    """Its entry in :mod:`stylize3d.representations`."""

    means: torch.Tensor
    quats: torch.Tensor
    log_scales: torch.Tensor
    opacity_logits: torch.Tensor
    sh: torch.Tensor

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expected = {
            "means": (n, 3),
            "quats": (n, 4),
            "log_scales": (n, 3),
            "opacity_logits": (n,),
        }
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape:
                raise ValueError(f"{name} has shape {tuple(getattr(self, name).shape)}, expected {shape}")
        if self.sh.ndim != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3:
            raise ValueError(f"sh has shape {tuple(self.sh.shape)}, expected ({n}, K, 3)")
        sh_degree_from_coeffs(self.sh.shape[1])

    @property
    def num_gaussians(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        return sh_degree_from_coeffs(self.sh.shape[1])

    @property
    def device(self) -> torch.device:
        return self.means.device

    def tensors(self) -> dict[str, torch.Tensor]:
        """The parameters by field name (shared, not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def map(self, fn) -> "GaussianScene":
        """A new scene with ``fn`` applied to every parameter tensor."""
        return GaussianScene(**{name: fn(t) for name, t in self.tensors().items()})

    def to(self, device: "torch.device | str", dtype: torch.dtype | None = None) -> "GaussianScene":
        return self.map(lambda t: t.to(device=device, dtype=dtype or t.dtype))

    def detached_clone(self) -> "GaussianScene":
        return self.map(lambda t: t.detach().clone())

    def with_sh_degree(self, degree: int) -> "GaussianScene":
        """Same Gaussians with SH truncated or zero-padded to ``degree``."""
        k = num_sh_coeffs(degree)
        sh = self.sh[:, :k]
        if sh.shape[1] < k:
            pad = sh.new_zeros(self.num_gaussians, k - sh.shape[1], 3)
            sh = torch.cat([sh, pad], dim=1)
        return dataclasses.replace(self, sh=sh)

    def subset(self, keep: torch.Tensor) -> "GaussianScene":
        """The Gaussians selected by a boolean mask or index tensor."""
        return self.map(lambda t: t[keep])

    def bounds(self, quantile: float = 0.02) -> tuple[torch.Tensor, torch.Tensor]:
        """Robust axis-aligned bounds ``(low 3, high 3)`` of the means, ignoring ``quantile`` outliers per side."""
        q = torch.tensor([quantile, 1.0 - quantile], dtype=self.means.dtype, device=self.means.device)
        step = max(1, self.num_gaussians // 200_000)
        lo_hi = torch.quantile(self.means.detach()[::step], q, dim=0)
        return lo_hi[0], lo_hi[1]
