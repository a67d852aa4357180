"""``core.image.fast``: the quick Gram-steps-plus-detail path (tiny sizes, one thread)."""

import json

import pytest
import torch
from PIL import Image

from core.cli import main
from core.config import replace_fields
from core.errors import ConfigError, InputError
from core.image.fast import FAST_STYLE_LAYERS, FastConfig, restore_detail, stylize_fast
from core.image.methods import stylize_image
from core.losses import feature_stats
from core.nn.vgg import load_vgg19


def _synthetic_pair():
    """Content: flat mid-grey with faint noise, 64×48. Style: saturated red/blue diagonal stripes on yellow, 64×64."""
    g = torch.Generator().manual_seed(5)
    content = (0.5 + 0.02 * torch.randn(1, 3, 48, 64, generator=g)).clamp(0, 1)
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    band = ((xx + yy) // 4) % 3
    palette = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.2, 0.9], [0.95, 0.85, 0.1]])
    style = palette[band].permute(2, 0, 1).unsqueeze(0)
    return content, style


def _meanstd_distance(image, style):
    """Σ over the fast path's layers of (‖μ_x − μ_s‖² + ‖σ_x − σ_s‖²) / (‖μ_s‖² + ‖σ_s‖²) (fp32 VGG19)."""
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    fx, fs = enc(image, FAST_STYLE_LAYERS), enc(style, FAST_STYLE_LAYERS)
    total = 0.0
    for layer in FAST_STYLE_LAYERS:
        (mx, sx), (ms, ss) = feature_stats(fx[layer]), feature_stats(fs[layer])
        total += float(((mx - ms) ** 2).sum() + ((sx - ss) ** 2).sum()) / float((ms ** 2).sum() + (ss ** 2).sum())
    return total


def test_moves_style_statistics_toward_the_style():
    content, style = _synthetic_pair()
    out = stylize_fast(content, style)
    assert out.shape == content.shape and 0 <= out.min() and out.max() <= 1
    before, after = _meanstd_distance(content, style), _meanstd_distance(out, style)
    assert after < 0.7 * before, (before, after)  # measured 0.58×: most of it from the colour transfer start


def test_bit_identical_twice():
    content, style = _synthetic_pair()
    torch.manual_seed(1)
    a = stylize_fast(content, style)
    torch.manual_seed(2)  # the recipe draws no random numbers: another global seed changes nothing
    b = stylize_fast(content, style)
    assert torch.equal(a, b)


def test_works_small_and_restores_the_full_size():
    content, style = _synthetic_pair()
    out = stylize_fast(content, style, replace_fields(FastConfig, work_size=32, steps=2))
    assert out.shape == content.shape


def test_restore_detail_adds_back_what_the_working_copy_lost():
    g = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 32, 32, generator=g) * 0.5 + 0.25
    small = torch.nn.functional.interpolate(content, size=(16, 16), mode="bilinear", antialias=True)
    assert torch.allclose(restore_detail(small, content, small, 1.0), content, atol=1e-6)
    assert not torch.allclose(restore_detail(small, content, small, 0.0), content, atol=1e-3)


def test_config_and_input_errors():
    content, style = _synthetic_pair()
    with pytest.raises(ConfigError):
        stylize_fast(content, style, replace_fields(FastConfig, detail=1.5))
    with pytest.raises(InputError, match="exactly one style"):
        stylize_image(content, [style, style], method="fast")


def test_cli_method_fast(tmp_path, content_png, style_png):
    out = tmp_path / "fast.png"
    code = main(["image", str(content_png), str(style_png), "-o", str(out), "--method", "fast", "--size", "32",
                 "--steps", "2", "--quiet", "--report", str(tmp_path / "r.json")])
    assert code == 0 and Image.open(out).size == (32, 23)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["metrics"]["method"] == "fast" and report["metrics"]["steps"] == 2
