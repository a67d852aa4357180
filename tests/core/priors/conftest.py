"""Tiny randomly initialised Stable-Diffusion-shaped models, saved once per session with ``save_pretrained``.

The folders are written by the installed diffusers' ``save_pretrained`` (so a library upgrade that changes the
layout breaks these tests, not a user). Sizes: images 32×32 → VAE (2 blocks, ×2 downsampling) → latents
4×16×16 → UNet with 2 cross-attention blocks (channels 32, 64; 2 encoder + 1 mid + 4 decoder self-attention layers); CLIP text encoder with 2 layers of
width 32; a tokenizer from a handwritten character vocabulary; SD 1.5's DDIM scheduler settings.

Two deliberate departures from plain random initialisation, so the tiny model behaves like a trained one where
the tests need it: the VAE's ``scaling_factor`` is 4 so scaled latents have about unit spread (as SD's 0.18215 gives
for its VAE), and the UNet's output convolution is scaled by 0.1 so that ε̂ changes slowly along a DDIM path (a
random UNet's ε̂ jumps with every change of its input, which no inversion can follow). The tests run on one
thread: on this shared 2-core machine two threads were ~10× slower under load.
"""

import json

import pytest
import torch

diffusers = pytest.importorskip("diffusers", reason="diffusers is not installed (pip install -e '.[test]')")
transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install -e '.[test]')")

LETTERS = "abcdefghijklmnopqrstuvwxyz"
IMAGE_SIDE = 32
UNET_OUTPUT_SCALE = 0.1
VAE_SCALING_FACTOR = 4.0


def tiny_tokenizer(scratch):
    """A CLIP BPE tokenizer without merges (every word splits into characters), built from source files in
    ``scratch``; how it is saved is left to the installed transformers."""
    scratch.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for letter in LETTERS:
        vocab[letter] = len(vocab)
        vocab[letter + "</w>"] = len(vocab)
    (scratch / "vocab.json").write_text(json.dumps(vocab))
    (scratch / "merges.txt").write_text("#version: 0.2\n")
    return transformers.CLIPTokenizer(str(scratch / "vocab.json"), str(scratch / "merges.txt"), model_max_length=16)


def tiny_components(scratch, unet_in_channels=4):
    """Tiny random SD components (unet, vae, text_encoder, tokenizer, scheduler) from the libraries' constructors."""
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer(scratch)
    unet = diffusers.UNet2DConditionModel(
        sample_size=IMAGE_SIDE // 2, in_channels=unet_in_channels, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8,
    )
    with torch.no_grad():
        unet.conv_out.weight.mul_(UNET_OUTPUT_SCALE)
        unet.conv_out.bias.mul_(UNET_OUTPUT_SCALE)
    vae = diffusers.AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(16, 32), latent_channels=4,
        layers_per_block=1, norm_num_groups=8, sample_size=IMAGE_SIDE, scaling_factor=VAE_SCALING_FACTOR,
    )
    text_encoder = transformers.CLIPTextModel(transformers.CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    ))
    scheduler = diffusers.DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)


def rewrite_tokenizer_as_slow(folder, keep_fast: bool) -> None:
    """Add the slow files transformers 4.x wrote (vocab.json, merges.txt), taken from the fast ``tokenizer.json``
    transformers 5 saved; drop ``tokenizer.json`` unless ``keep_fast``."""
    fast = json.loads((folder / "tokenizer.json").read_text())
    (folder / "vocab.json").write_text(json.dumps(fast["model"]["vocab"]))
    merges = [m if isinstance(m, str) else " ".join(m) for m in fast["model"]["merges"]]
    (folder / "merges.txt").write_text("\n".join(["#version: 0.2", *merges]) + "\n")
    if not keep_fast:
        (folder / "tokenizer.json").unlink()


def build_tiny_model(root, *, variant=None, safe_serialization=True, tokenizer="fast", unet_in_channels=4,
                     pipeline="StableDiffusionPipeline") -> None:
    """Write a complete model folder at ``root`` through the installed diffusers' ``pipeline.save_pretrained``.

    ``variant="fp16"`` saves float16 weights as ``*.fp16.*``; ``safe_serialization=False`` saves ``.bin``;
    ``tokenizer``: "fast" (what transformers 5 writes), "slow" (vocab.json + merges.txt only, as transformers 4
    wrote for CLIP) or "both". ``pipeline``: the diffusers pipeline class whose layout is written.
    """
    parts = tiny_components(root.parent / f"{root.name}_tokenizer_source", unet_in_channels)
    pipe = getattr(diffusers, pipeline)(**parts, safety_checker=None, feature_extractor=None,
                                        requires_safety_checker=False)
    if variant == "fp16":
        pipe.to(torch.float16)
    pipe.save_pretrained(root, variant=variant, safe_serialization=safe_serialization)
    if tokenizer != "fast":
        rewrite_tokenizer_as_slow(root / "tokenizer", keep_fast=tokenizer == "both")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Path of the saved tiny model folder (shared by the session; tests must not modify it)."""
    root = tmp_path_factory.mktemp("tiny_sd")
    build_tiny_model(root)
    return root


@pytest.fixture(scope="session")
def tiny_ip2p_dir(tmp_path_factory):
    """An InstructPix2Pix-layout folder (UNet with 8 input channels), written by that pipeline's save_pretrained."""
    root = tmp_path_factory.mktemp("tiny_ip2p")
    build_tiny_model(root, unet_in_channels=8, pipeline="StableDiffusionInstructPix2PixPipeline")
    return root


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    """The tiny model loaded on the CPU through the product's loader."""
    from core.priors.loading import load_diffusion_model

    return load_diffusion_model(tiny_model_dir, "cpu")


@pytest.fixture
def images():
    """Two different smooth 1,3,32,32 images in [0,1] (content-like and style-like)."""
    y, x = torch.meshgrid(torch.linspace(0, 1, IMAGE_SIDE), torch.linspace(0, 1, IMAGE_SIDE), indexing="ij")
    content = torch.stack([x, y, 0.5 * (x + y)])[None]
    style = torch.stack([torch.sin(6 * x) * 0.5 + 0.5, torch.cos(5 * y) * 0.5 + 0.5, x * y])[None]
    return content, style
