"""Checks with a real Stable Diffusion folder on a GPU. Skipped unless CUDA is present and ``STYLIZE_SD_MODEL``
names a local SD 1.5 / 2.1-base folder in diffusers layout (no such weights exist on the development machine);
the InstructPix2Pix checks also need ``STYLIZE_IP2P_MODEL`` (a local InstructPix2Pix folder)."""

import os

import pytest
import torch

MODEL = os.environ.get("STYLIZE_SD_MODEL")
IP2P_MODEL = os.environ.get("STYLIZE_IP2P_MODEL")

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
needs_sd = pytest.mark.skipif(not MODEL, reason="needs STYLIZE_SD_MODEL=/path/to/a local Stable Diffusion folder")
needs_ip2p = pytest.mark.skipif(not IP2P_MODEL,
                                reason="needs STYLIZE_IP2P_MODEL=/path/to/a local InstructPix2Pix folder")


@pytest.fixture(scope="module")
def real_model():
    from core.priors.loading import load_diffusion_model

    return load_diffusion_model(MODEL, "cuda")


def smooth_image(side=512, phase=0.0):
    y, x = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    return torch.stack([torch.sin(8 * x + phase) * 0.5 + 0.5, y, 0.5 * (x + y)])[None].cuda()


@needs_sd
def test_loads_in_float16_with_sd_geometry(real_model):
    assert real_model.dtype == torch.float16
    assert real_model.size_multiple == 64 and real_model.vae_factor == 8


@needs_sd
def test_inversion_reconstructs_a_real_latent(real_model):
    from core.priors.ddim import invert, sample

    with torch.no_grad():
        z = real_model.encode_images(smooth_image())
    cond = real_model.encode_prompts([""])
    rec = sample(real_model, invert(real_model, z, cond, 50)[0], cond, 50)
    assert ((rec - z).norm() / z.norm()).item() < 0.2


@needs_sd
def test_styleid_and_sds_run_at_512(real_model):
    from core.priors.sds import SDSLoss
    from core.priors.style_injection import stylize_styleid

    torch.cuda.reset_peak_memory_stats()
    out = stylize_styleid(smooth_image(), smooth_image(phase=2.0), real_model, steps=50, progress=False)
    assert out.shape == (1, 3, 512, 512) and torch.isfinite(out).all()
    render = smooth_image().requires_grad_(True)
    SDSLoss(real_model, "a watercolor painting", seed=0)(render).backward()
    assert torch.isfinite(render.grad).all() and render.grad.abs().sum() > 0
    print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


@needs_sd
def test_style_token_learns_and_transfers_at_512(real_model):
    from core.priors.inversion import LearnConfig, heldout_loss, learn_style_tokens, sample_with_tokens

    painting, photo = smooth_image(phase=2.0), smooth_image()
    config = LearnConfig(steps=100, lr=5e-3, batch=2, stages=10)
    tokens, _ = learn_style_tokens(real_model, painting, config, seed=0, progress=False)
    before, after = heldout_loss(real_model, painting, config, tokens)
    assert after < before
    out = sample_with_tokens(real_model, tokens, "a house {}", stages=list(range(5, 10)), image=photo, steps=30,
                             progress=False)
    assert out.shape == (1, 3, 512, 512) and torch.isfinite(out).all()


@needs_sd
def test_zstar_runs_at_512(real_model):
    from core.priors.zstar import stylize_zstar

    torch.cuda.reset_peak_memory_stats()
    out = stylize_zstar(smooth_image(), smooth_image(phase=2.0), real_model, steps=50, progress=False)
    assert out.shape == (1, 3, 512, 512) and torch.isfinite(out).all()
    print(f"zstar peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


@needs_ip2p
def test_instruct_pix2pix_edits_at_512():
    from core.priors.instruct import instruct_edit, instruct_edit_from
    from core.priors.loading import load_diffusion_model

    model = load_diffusion_model(IP2P_MODEL, "cuda", in_channels=8)
    photo = smooth_image()
    edited = instruct_edit(model, photo, "make it look like a watercolour painting", steps=20)
    assert edited.shape == photo.shape and (edited - photo).abs().mean() > 0.01
    again = instruct_edit_from(model, edited, photo, "make it look like a watercolour painting", steps=20)
    assert again.shape == photo.shape and torch.isfinite(again).all()
