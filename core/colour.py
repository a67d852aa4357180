"""Colour transfer between images: affine mean/covariance matching, luminance-only transfer, histogram matching.

All functions take ``B,3,H,W`` RGB in ``[0,1]`` (or pixel lists ``N,3``) and are safe for flat images:
covariances get a small ridge before matrix square roots, so a constant-colour input gives no NaN.
"""

import torch

from core.colour_stats import YIQ_FROM_RGB, affine_colour_map, mean_cov


def image_pixels(image: torch.Tensor) -> torch.Tensor:
    """``B,3,H,W`` (or ``3,H,W``) → ``N,3`` pixel list."""
    return image.reshape(-1, 3, *image.shape[-2:]).permute(0, 2, 3, 1).reshape(-1, 3)


def fit_affine_colour_map(source: torch.Tensor, target: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor]":
    """Affine map ``x ↦ A x + b`` taking the source pixels' mean/covariance to the target's (ARF's colour transfer).

    ``source`` ``N,3`` and ``target`` ``M,3`` pixels. ``A = Σ_t^½ Σ_s^−½`` (symmetric square roots),
    ``b = μ_t − A μ_s``. Returns float32 ``A`` ``3,3`` and ``b`` ``3`` on the source's device.
    """
    if source.shape[-1] != 3 or target.shape[-1] != 3:
        raise ValueError("colour transfer expects N,3 pixel lists")
    a, b = affine_colour_map(*mean_cov(source.reshape(-1, 3).detach().double().cpu().numpy()),
                             *mean_cov(target.reshape(-1, 3).detach().double().cpu().numpy()))
    return (torch.from_numpy(a).float().to(source.device), torch.from_numpy(b).float().to(source.device))


def apply_affine_colour(image: torch.Tensor, a: torch.Tensor, b: torch.Tensor, clamp: bool = True) -> torch.Tensor:
    """Apply ``A x + b`` to every pixel of ``B,3,H,W``; clamps to [0,1] unless ``clamp=False``."""
    out = torch.einsum("ij,bjhw->bihw", a.to(image), image) + b.to(image).view(1, 3, 1, 1)
    return out.clamp(0.0, 1.0) if clamp else out


def match_colour_stats(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Recolour ``image`` so its RGB mean/covariance match ``reference``'s (both ``B,3,H,W``)."""
    a, b = fit_affine_colour_map(image_pixels(image), image_pixels(reference))
    return apply_affine_colour(image, a, b)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """``B,3,H,W`` RGB → YIQ (Y = Rec.601 luma)."""
    m = torch.tensor(YIQ_FROM_RGB, dtype=image.dtype, device=image.device)
    return torch.einsum("ij,bjhw->bihw", m, image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_yiq`."""
    inverse = torch.linalg.inv(torch.tensor(YIQ_FROM_RGB, dtype=torch.float64, device=image.device))
    return torch.einsum("ij,bjhw->bihw", inverse.to(image.dtype), image)


def luminance_transfer(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the content's colours: luminance from ``stylized``, chrominance (I, Q) from ``content``.

    Both ``B,3,H,W`` of the same size (Gatys et al. 2017, "Preserving colour in neural artistic style transfer").
    """
    if stylized.shape != content.shape:
        content = torch.nn.functional.interpolate(content, size=stylized.shape[-2:], mode="bilinear",
                                                  align_corners=False)
    s, c = rgb_to_yiq(stylized), rgb_to_yiq(content)
    return yiq_to_rgb(torch.cat([s[:, :1], c[:, 1:]], dim=1)).clamp(0.0, 1.0)


def histogram_match(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-channel histogram matching of ``image`` to ``reference`` (``B,3,H,W`` each; sizes may differ).

    Each pixel's rank within its channel is mapped to the reference value at the same quantile.
    Ties keep their order, so flat images map to one reference quantile each. Not differentiable.
    """
    out = torch.empty_like(image)
    for b in range(image.shape[0]):
        ref = reference[min(b, reference.shape[0] - 1)]
        for c in range(3):
            src = image[b, c].flatten()
            ref_sorted = ref[c].flatten().sort().values
            ranks = torch.empty_like(src, dtype=torch.long)
            ranks[src.argsort(stable=True)] = torch.arange(src.numel(), device=src.device)
            quantile = ranks.double() / max(src.numel() - 1, 1)
            idx = (quantile * (ref_sorted.numel() - 1)).round().long()
            out[b, c] = ref_sorted[idx].view_as(image[b, c])
    return out
