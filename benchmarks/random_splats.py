"""Random Gaussian scenes for the splat benchmarks: ``n`` Gaussians uniform in the cube [-1, 1]^3."""

from __future__ import annotations


def random_scene(n: int, degree: int = 3, seed: int = 0, largest_std: float = 0.025, sh_std: float = 0.3):
    """A :class:`~stylize3d.splats.scene.GaussianScene` of ``n`` Gaussians: per-axis std uniform in
    ``[0.005, largest_std]`` world units, random rotations and opacity logits ``N(0, 1)``, SH coefficients
    ``N(0, sh_std²)`` up to ``degree``; the same scene for the same ``seed``."""
    import torch

    from stylize3d.splats.scene import GaussianScene

    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        means=torch.rand(n, 3, generator=g) * 2 - 1,
        quats=torch.randn(n, 4, generator=g),
        log_scales=torch.log(torch.rand(n, 3, generator=g) * (largest_std - 0.005) + 0.005),
        opacity_logits=torch.randn(n, generator=g),
        sh=torch.randn(n, (degree + 1) ** 2, 3, generator=g) * sh_std,
    )
