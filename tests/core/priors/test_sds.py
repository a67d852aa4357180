"""SDSLoss: gradient reaches the renders, zero weight gives zero gradient, and a hand-computed value matches."""

import pytest
import torch

from core.errors import InputError
from core.priors.sds import SDSLoss

PROMPT = "a red fox"


def renders(batch=2, height=32, width=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, height, width, generator=generator).requires_grad_(True)


def test_gradient_flows_to_renders_with_their_shape(tiny_model):
    sds = SDSLoss(tiny_model, PROMPT, guidance_scale=7.5, resolution=None, seed=0)
    images = renders()
    loss = sds(images)
    loss.backward()
    assert loss.ndim == 0 and loss.item() > 0
    assert images.grad.shape == images.shape
    assert torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0


def test_renders_are_resized_differentiably_to_the_working_resolution(tiny_model):
    """A 40×24 render with resolution 32 is encoded at 32×16 (multiples of 4); its gradient keeps 40×24."""
    sds = SDSLoss(tiny_model, PROMPT, resolution=32, seed=0)
    images = renders(1, 40, 24)
    assert sds._working_images(images).shape[-2:] == (32, 16)
    sds(images).backward()
    assert images.grad.shape == (1, 3, 40, 24) and images.grad.abs().sum() > 0


def test_zero_weight_gives_exactly_zero_loss_and_gradient(tiny_model):
    sds = SDSLoss(tiny_model, PROMPT, weight=0.0, resolution=None, seed=0)
    images = renders()
    loss = sds(images)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(images.grad, torch.zeros_like(images))


def test_matches_hand_computed_sds_for_fixed_noise_and_timestep(tiny_model):
    """loss = ½‖g‖²/B and ∂loss/∂x = (∂z/∂x)ᵀ g / B with g = weight·(1−ᾱ_t)·(ε̂_cfg − ε), computed here by hand."""
    model, t, scale, weight, batch = tiny_model, 500, 7.5, 0.5, 2
    noise = torch.randn(batch, 4, 16, 16, generator=torch.Generator().manual_seed(3))
    images = renders(batch)
    sds = SDSLoss(model, PROMPT, guidance_scale=scale, weight=weight, resolution=None)
    (grad,) = torch.autograd.grad(loss := sds(images, timestep=t, noise=noise), images)

    a = model.scheduler.alphas_cumprod[t]
    z = model.vae.encode(images * 2 - 1).latent_dist.mean * model.vae.config.scaling_factor
    ids = model.tokenizer(["", PROMPT], padding="max_length", max_length=16, return_tensors="pt").input_ids
    with torch.no_grad():
        text = model.text_encoder(ids)[0]
        z_t = a.sqrt() * z + (1 - a).sqrt() * noise
        out = model.unet(torch.cat([z_t, z_t]), t, encoder_hidden_states=text[[0, 0, 1, 1]]).sample
    eps_uncond, eps_cond = out.chunk(2)
    g = weight * (1 - a) * (eps_uncond + scale * (eps_cond - eps_uncond) - noise)
    (expected_grad,) = torch.autograd.grad((z * g).sum() / batch, images)

    assert loss.item() == pytest.approx((0.5 * (g ** 2).sum() / batch).item(), rel=1e-5)
    assert expected_grad.abs().max() > 0.1  # float32 rounding (~1e-6 here) is far below the tolerance
    assert torch.allclose(grad, expected_grad, rtol=1e-4, atol=1e-5)


def test_bad_t_range_and_bad_shape_are_input_errors(tiny_model):
    with pytest.raises(InputError, match="t_range"):
        SDSLoss(tiny_model, PROMPT, t_range=(0.5, 0.2))
    with pytest.raises(InputError, match="B,3,H,W"):
        SDSLoss(tiny_model, PROMPT, resolution=None)(torch.rand(3, 32, 32))
