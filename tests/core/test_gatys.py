import pytest
import torch

from core.colour import rgb_to_yiq
from core.errors import InputError
from core.config import replace_fields
from core.image.gatys import GatysConfig, stylize_gatys
from core.losses import gram_matrix
from core.nn.vgg import load_vgg19


def _images():
    g = torch.Generator().manual_seed(3)
    content = torch.nn.functional.interpolate(torch.rand(1, 3, 6, 8, generator=g), size=(40, 56), mode="bilinear")
    style = torch.rand(1, 3, 48, 48, generator=g)
    return content, style


def test_style_loss_falls_and_result_in_range():
    content, style = _images()
    result = stylize_gatys(content, [style], replace_fields(GatysConfig, steps=15), progress=False)
    assert result.stylization.final["style"] < 0.5 * result.stylization.initial["style"]
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    assert result.optimization.steps_done == 15


def test_seeded_noise_init_is_reproducible():
    content, style = _images()
    cfg = replace_fields(GatysConfig, steps=3, init="noise", seed=7, optimizer="adam")
    a = stylize_gatys(content, [style], cfg, progress=False).image
    b = stylize_gatys(content, [style], cfg, progress=False).image
    assert torch.equal(a, b)


def test_mask_keeps_content_outside():
    content, style = _images()
    mask = torch.zeros(1, 1, 40, 56)
    mask[..., :, 28:] = 1.0
    out = stylize_gatys(content, [style], replace_fields(GatysConfig, steps=8), mask=mask, progress=False).image
    assert torch.allclose(out[..., :, :28], content[..., :, :28], atol=1e-6)
    assert (out[..., :, 30:] - content[..., :, 30:]).abs().mean() > 0.01
    with pytest.raises(InputError, match="mask size"):
        stylize_gatys(content, [style], replace_fields(GatysConfig, steps=1), mask=mask[..., :20], progress=False)


def test_preserve_color_keeps_content_chrominance():
    content, style = _images()
    content = content * 0.6 + 0.2  # stay inside the gamut so clamping does not alter chroma
    out = stylize_gatys(content, [style], replace_fields(GatysConfig, steps=5, preserve_color=True), progress=False).image
    iq_out, iq_content = rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:]
    assert (iq_out - iq_content).abs().mean() < 0.01


def test_blend_weights_pull_towards_the_heavier_style():
    content, style = _images()
    other = torch.rand(1, 3, 48, 48) * 0.2  # dark style
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)

    def distance(img, s):
        fi, fs = enc(img, ["relu2_1"]), enc(s, ["relu2_1"])
        return (gram_matrix(fi["relu2_1"]) - gram_matrix(fs["relu2_1"])).pow(2).mean().item()

    cfg = replace_fields(GatysConfig, steps=15, style_weight=100)
    towards_first = stylize_gatys(content, [style, other], cfg, blend=[0.95, 0.05], progress=False).image
    towards_second = stylize_gatys(content, [style, other], cfg, blend=[0.05, 0.95], progress=False).image
    assert distance(towards_first, style) < distance(towards_second, style)
    assert distance(towards_second, other) < distance(towards_first, other)
    with pytest.raises(InputError, match="one weight per style"):
        stylize_gatys(content, [style, other], cfg, blend=[1.0], progress=False)


def test_pyramid_and_style_scale_and_extra_terms():
    content, style = _images()
    seen = []

    def extra(img, view):
        seen.append(img.shape[-2:])
        return {"anchor": 0.0 * img.sum()}

    result = stylize_gatys(content, [style], replace_fields(GatysConfig, steps=2, levels=2, style_scale=0.5), terms=[extra],
                           progress=False)
    assert result.image.shape == content.shape
    assert torch.Size([20, 28]) in seen and torch.Size([40, 56]) in seen
    assert "anchor" in result.optimization.history[-1]


def test_config_validation():
    content, style = _images()
    for bad in (dict(init="zeros"), dict(style_scale=100.0), dict(levels=0), dict(style_weight=-1.0)):
        with pytest.raises(InputError):
            stylize_gatys(content, [style], replace_fields(GatysConfig, **bad), progress=False)
