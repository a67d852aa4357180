"""StyleID-like injection: cache layout, the injected attention formula, on/off behaviour, restoring processors."""

import math

import pytest
import torch

from core.priors.attention import StepClock, match_statistics, self_attention_layers
from core.priors.ddim import ddim_timesteps, invert, sample
from core.priors.style_injection import AttentionCache, InjectionProcessor, record_inversion, styleid_latents, \
    stylize_styleid

STEPS = 5


@pytest.fixture
def latents(tiny_model, images):
    content, style = images
    with torch.no_grad():
        return tiny_model.encode_images(content), tiny_model.encode_images(style)


def relative_difference(a, b):
    return ((a - b).norm() / b.norm()).item()


def same_processors(a, b):
    return a.keys() == b.keys() and all(a[k] is b[k] for k in a)


def test_cache_holds_chosen_layers_by_timesteps_with_token_shapes(tiny_model, latents):
    cond = tiny_model.encode_prompts([""])
    layers = self_attention_layers(tiny_model.unet, "decoder")[1:]
    trajectory, cache = record_inversion(tiny_model, latents[0], cond, STEPS, layers, keep=("k", "v"))
    assert cache.layers == layers
    assert sorted(cache.timesteps) == sorted(ddim_timesteps(tiny_model, STEPS))
    assert len(cache.entries) == len(layers) * STEPS
    # up_blocks.0 works at 8×8 tokens with 64 channels, up_blocks.1 at 16×16 with 32; 4 heads each
    expected = {"up_blocks.0": (1, 4, 64, 16), "up_blocks.1": (1, 4, 256, 8)}
    for (layer, _), tensors in cache.entries.items():
        assert set(tensors) == {"k", "v"}
        assert all(tuple(t.shape) == expected[layer[:11]] for t in tensors.values())
    plain = invert(tiny_model, latents[0], cond, STEPS)
    assert all(torch.equal(a, b) for a, b in zip(trajectory, plain))  # recording does not change inversion


def test_injection_processor_computes_blended_query_style_keys_and_temperature(tiny_model):
    """out = to_out(softmax(T·q̂·k_sᵀ/√d)·v_s) with q̂ = γ·q_c + (1−γ)·q, checked by hand on one layer."""
    attn = tiny_model.unet.up_blocks[1].attentions[0].transformer_blocks[0].attn1
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(1, 256, 32, generator=gen)
    q_c, k_s, v_s = (torch.randn(1, 4, 256, 8, generator=gen) for _ in range(3))
    content, style, clock = AttentionCache(), AttentionCache(), StepClock()
    content.store("L", 7, q=q_c)
    style.store("L", 7, k=k_s, v=v_s)
    clock.set(7)
    gamma, temperature = 0.75, 1.5
    out = InjectionProcessor("L", clock, content, style, gamma, temperature)(attn, hidden)

    with torch.no_grad():
        q = attn.to_q(hidden).view(1, 256, 4, 8).transpose(1, 2)
        q_hat = gamma * q_c + (1 - gamma) * q
        weights = torch.softmax(temperature * q_hat @ k_s.transpose(-1, -2) / math.sqrt(8), dim=-1)
        expected = attn.to_out[0]((weights @ v_s).transpose(1, 2).reshape(1, 256, 32))
    assert torch.allclose(out, expected, atol=1e-5)


def test_injection_off_with_gamma_one_equals_plain_sampling(tiny_model, latents):
    content, style = latents
    cond = tiny_model.encode_prompts([""])
    plain = sample(tiny_model, invert(tiny_model, content, cond, STEPS)[0], cond, STEPS)
    off = styleid_latents(tiny_model, content, style, gamma=1.0, steps=STEPS, adain_init=False, inject=False)
    assert torch.allclose(off, plain, atol=1e-6)
    start = match_statistics(invert(tiny_model, content, cond, STEPS)[0], invert(tiny_model, style, cond, STEPS)[0],
                             dims=(2, 3))
    off_adain = styleid_latents(tiny_model, content, style, gamma=1.0, steps=STEPS, inject=False)
    assert torch.allclose(off_adain, sample(tiny_model, start, cond, STEPS), atol=1e-6)


def test_injection_on_differs_and_restores_processors(tiny_model, latents):
    content, style = latents
    before = tiny_model.unet.attn_processors
    off = styleid_latents(tiny_model, content, style, steps=STEPS, inject=False)
    on = styleid_latents(tiny_model, content, style, steps=STEPS)
    assert same_processors(tiny_model.unet.attn_processors, before)
    assert relative_difference(on, off) > 1e-3  # measured 0.011; float noise is ~1e-7
    fewer_layers = styleid_latents(tiny_model, content, style, steps=STEPS, layers=[-1])
    assert relative_difference(fewer_layers, on) > 1e-3


def test_stylize_styleid_returns_an_image_of_the_content_size(tiny_model, images):
    content, style = images
    content = torch.nn.functional.interpolate(content, size=(30, 34), mode="bilinear", align_corners=False)
    out = stylize_styleid(content, style, tiny_model, steps=STEPS, progress=False)
    again = stylize_styleid(content, style, tiny_model, steps=STEPS, progress=False)
    assert out.shape == (1, 3, 30, 34) and out.dtype == torch.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert torch.equal(out, again)
