"""Checks with a real Stable Diffusion folder on a GPU, one or more per method. Skipped unless CUDA is present and
``STYLIZE_SD_MODEL`` names a local SD 1.5 / 2.1-base folder in diffusers layout (no such weights exist on the
development machine); the InstructPix2Pix checks (image, video, 3D dataset update for splats and radiance fields)
need ``STYLIZE_IP2P_MODEL`` (a local InstructPix2Pix folder) instead. Run:
``STYLIZE_SD_MODEL=… STYLIZE_IP2P_MODEL=… pytest -q -s tests/core/priors/test_real_model.py``.
The layer names and shapes these checks rely on are checked without weights in ``test_sd15_shapes.py``."""

import math
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


@needs_sd
def test_style_aligned_generate_at_512(real_model):
    from core.priors.shared_attention import generate_with_style_reference

    torch.cuda.reset_peak_memory_stats()
    out = generate_with_style_reference(smooth_image(phase=2.0), ["a fox", "a castle"], real_model, steps=30,
                                        progress=False)
    assert out.shape == (2, 3, 512, 512) and torch.isfinite(out).all()
    assert (out[0] - out[1]).abs().mean() > 0.01  # two prompts, two different images
    print(f"generate peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


@needs_sd
def test_single_file_round_trip_of_the_real_model(real_model, tmp_path):
    """The real model written as one LDM-layout file loads back (configs and tokenizer from its own folder)."""
    from core.priors.loading import load_diffusion_model

    from .ldm_checkpoint import write_single_file

    write_single_file(real_model, tmp_path / "model.safetensors")
    loaded = load_diffusion_model(tmp_path / "model.safetensors", "cuda", config=MODEL)
    for part in ("unet", "vae", "text_encoder"):
        source, again = getattr(real_model, part).state_dict(), getattr(loaded, part).state_dict()
        assert source.keys() == again.keys() and all(torch.equal(source[k], again[k]) for k in source), part


@pytest.fixture(scope="module")
def ip2p_model():
    from core.priors.loading import load_diffusion_model

    return load_diffusion_model(IP2P_MODEL, "cuda", in_channels=8)


@needs_ip2p
def test_instruct_video_keyframes_at_512(ip2p_model):
    from core.priors.instruct import InstructFrameStylizer

    stylizer = InstructFrameStylizer(ip2p_model, "make it look like a watercolour painting", keyframe_every=2,
                                     steps=20)
    frames = [stylizer(smooth_image(phase=0.1 * i)) for i in range(3)]
    assert stylizer.keyframes == 2 and all(f.shape == (1, 3, 512, 512) and torch.isfinite(f).all() for f in frames)


@needs_ip2p
@pytest.mark.parametrize("representation", ["splats", "field"])
def test_scene_dataset_update_at_512(ip2p_model, representation):
    """Instruct-GS2GS / Instruct-NeRF2NeRF on a small random scene with 512² training views."""
    from dataclasses import replace

    from core.stylization import LoopConfig
    from stylize3d.camera_paths import path_around
    from stylize3d.fields.grid import new_field
    from stylize3d.instruct import EditConfig, instruct_scene
    from stylize3d.splats.scene import GaussianScene
    from stylize3d.scene_style import SceneStyleConfig

    g = torch.Generator().manual_seed(0)
    n = 2000
    splats = GaussianScene(means=(torch.rand(n, 3, generator=g) * 2 - 1) * 0.6, quats=torch.randn(n, 4, generator=g),
                           log_scales=torch.full((n, 3), -3.0), opacity_logits=torch.full((n,), 2.0),
                           sh=torch.rand(n, 1, 3, generator=g)).to("cuda")
    cameras = path_around("orbit", 3, 512, 512, scene=splats)
    if representation == "field":
        scene = new_field(-torch.ones(3), torch.ones(3), (32, 32, 32)).to("cuda")
        scene.density = (torch.randn(scene.density.shape, generator=g) * 2 + 9).cuda()
        scene.colour = torch.randn(scene.colour.shape, generator=g).cuda()
    else:
        scene = splats
    config = replace(SceneStyleConfig(size=512, tv_weight=0.0), loop=LoopConfig(steps=6, optimizer="adam", lr=0.05))
    result, update = instruct_scene(scene, cameras, ip2p_model, "make it look like a watercolour painting", config,
                                    EditConfig(edit_every=2), edit_options=dict(steps=10), progress=False)
    assert update.history == [(0, 0), (2, 1), (4, 2)]
    assert all(update.target(v).shape == (1, 3, 512, 512) for v in range(3))
    assert math.isfinite(result.stylization.final["total"])
