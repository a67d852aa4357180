"""The yardstick every benchmark and front end uses to compare stylized images.

At ``size`` (long side, default 256; both images resized with antialiased bicubic), with the fp32 VGG19:

* ``style_distance(x, s)`` = mean over ``relu1_1, relu2_1, relu3_1, relu4_1, relu5_1`` of
  ``‖G(x) − G(s)‖²_F / C_l²`` where ``G = F Fᵀ / (H·W)`` (raw Caffe-scale features);
* ``content_distance(x, c)`` = MSE of ``relu4_2`` features (``c`` resized to ``x``'s metric size);
* ``ssim(x, c)``: SSIM with an 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, data range 1,
  computed per RGB channel and averaged;
* ``psnr(x, r)`` = ``−10 log10(MSE)`` over all pixels and channels, data range 1, in float64 (no resizing).

Keep these definitions fixed: numbers in BENCHMARKS.md and issue notes depend on them.
"""

import math

import torch
import torch.nn.functional as F

from core.io.images import resize_long_side
from core.losses import gram_matrix
from core.nn.vgg import load_vgg19

METRIC_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
METRIC_CONTENT_LAYER = "relu4_2"
DEFAULT_METRIC_SIZE = 256


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error ``mse`` of data in [0,1]; ``inf`` for 0."""
    return float("inf") if mse <= 0 else -10.0 * math.log10(mse)


def psnr(image: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB of ``image`` against ``reference`` (same shape, any layout such as ``B,3,H,W`` or ``3,H,W``,
    values in [0,1]); the mean squared error is taken in float64."""
    return psnr_from_mse(float(F.mse_loss(image.double(), reference.to(image.device).double())))


def _encoder(device):
    return load_vgg19(device, pooling="max", autocast_cpu_bf16=False)


@torch.no_grad()
def style_distance(image: torch.Tensor, style: torch.Tensor, size: int = DEFAULT_METRIC_SIZE) -> float:
    """Mean normalised-Gram squared distance between ``image`` and ``style`` (``1,3,H,W`` each, [0,1])."""
    enc = _encoder(image.device)
    fx = enc(resize_long_side(image, size), METRIC_STYLE_LAYERS)
    fs = enc(resize_long_side(style.to(image.device), size), METRIC_STYLE_LAYERS)
    total = 0.0
    for layer in METRIC_STYLE_LAYERS:
        diff = gram_matrix(fx[layer]) - gram_matrix(fs[layer])
        total += float(diff.pow(2).sum()) / fx[layer].shape[1] ** 2
    return total / len(METRIC_STYLE_LAYERS)


@torch.no_grad()
def content_distance(image: torch.Tensor, content: torch.Tensor, size: int = DEFAULT_METRIC_SIZE) -> float:
    """MSE of ``relu4_2`` features between ``image`` and ``content`` (content resized to the image's metric size)."""
    enc = _encoder(image.device)
    x = resize_long_side(image, size)
    c = F.interpolate(content.to(image.device), size=x.shape[-2:], mode="bicubic", align_corners=False,
                      antialias=True).clamp(0, 1)
    return float(F.mse_loss(enc(x, [METRIC_CONTENT_LAYER])[METRIC_CONTENT_LAYER],
                            enc(c, [METRIC_CONTENT_LAYER])[METRIC_CONTENT_LAYER]))


def _gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64, device="cpu") -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, size, size)


def ssim(image: torch.Tensor, reference: torch.Tensor, size: "int | None" = DEFAULT_METRIC_SIZE) -> float:
    """SSIM of ``image`` against ``reference`` (``1,3,H,W`` in [0,1]); see the module docstring for the settings."""
    x = image.double()
    y = reference.to(image.device).double()
    if size is not None:
        x = resize_long_side(x, size)
    if y.shape[-2:] != x.shape[-2:]:
        y = F.interpolate(y, size=x.shape[-2:], mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    return float(ssim_map(x, y).mean())


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Differentiable per-pixel SSIM ``B,3,H-10,W-10`` of ``x`` against ``y`` (``B,3,H,W`` each, same dtype, in
    [0,1]; windows wholly inside the image), with :func:`ssim`'s settings."""
    window = _gaussian_window(dtype=x.dtype, device=x.device)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_x = F.conv2d(x, window, groups=3)
    mu_y = F.conv2d(y, window, groups=3)
    var_x = F.conv2d(x * x, window, groups=3) - mu_x ** 2
    var_y = F.conv2d(y * y, window, groups=3) - mu_y ** 2
    cov = F.conv2d(x * y, window, groups=3) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
