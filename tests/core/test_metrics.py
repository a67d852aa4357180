import pytest
import torch

from core.losses import gram_matrix
from core.metrics import content_distance, ssim, style_distance
from core.nn.vgg import load_vgg19


def test_style_distance_matches_its_definition():
    x, s = torch.rand(1, 3, 40, 64), torch.rand(1, 3, 64, 64)
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    fx, fs = enc(x, layers), enc(s, layers)  # both already have long side 64
    expected = sum(float(((gram_matrix(fx[l]) - gram_matrix(fs[l])) ** 2).sum()) / fx[l].shape[1] ** 2
                   for l in layers) / 5
    assert style_distance(x, s, size=64) == pytest.approx(expected, rel=1e-5)


def test_content_distance_and_ssim_basics():
    x = torch.rand(1, 3, 48, 48)
    assert content_distance(x, x, size=48) == pytest.approx(0.0, abs=1e-8)
    assert ssim(x, x, size=None) == pytest.approx(1.0)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    assert ssim(noisy, x, size=None) < 0.9
    assert content_distance(noisy, x, size=48) > 0
    # SSIM of a constant image against itself shifted in brightness: luminance term only
    a, b = torch.full((1, 3, 32, 32), 0.5), torch.full((1, 3, 32, 32), 0.25)
    expected = (2 * 0.5 * 0.25 + 1e-4) / (0.5 ** 2 + 0.25 ** 2 + 1e-4)
    assert ssim(a, b, size=None) == pytest.approx(expected, rel=1e-9)
