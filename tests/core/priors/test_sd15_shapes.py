"""What the real-model checks rely on, checked at Stable Diffusion 1.5's real shapes without its weights: the
networks are built on PyTorch's ``meta`` device from SD 1.5's configuration (``benchmarks/priors_costs.py``), so
layer names, counts and tensor shapes are those of a real SD 1.5 folder, with no memory or compute spent."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from core.priors.attention import select_layers, self_attention_layers
from core.priors.style_injection import STYLEID_LAYER_COUNT

from .ldm_checkpoint import ldm_state_dict

diffusers = pytest.importorskip("diffusers", reason="diffusers is not installed")
transformers = pytest.importorskip("transformers", reason="transformers is not installed")

COSTS = Path(__file__).resolve().parents[3] / "benchmarks" / "priors_costs.py"


@pytest.fixture(scope="module")
def sd15():
    spec = importlib.util.spec_from_file_location("priors_costs", COSTS)
    costs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(costs)
    with torch.device("meta"):
        return SimpleNamespace(unet=diffusers.UNet2DConditionModel(**costs.SD15_UNET),
                               vae=diffusers.AutoencoderKL(**costs.SD15_VAE),
                               text_encoder=transformers.CLIPTextModel(transformers.CLIPTextConfig(**costs.SD15_TEXT)))


def test_styleid_default_layers_are_the_papers_decoder_layers_7_to_11(sd15):
    """StyleID injects into ``up_blocks[i // 3].attentions[i % 3]`` for i = 7..11 (its own numbering)."""
    decoder = self_attention_layers(sd15.unet, "decoder")
    assert len(decoder) == 9  # up_blocks 1-3, three transformer layers each (up_blocks.0 has no attention)
    expected = [f"up_blocks.{i // 3}.attentions.{i % 3}.transformer_blocks.0.attn1.processor" for i in range(7, 12)]
    assert select_layers(decoder, None, STYLEID_LAYER_COUNT) == expected
    assert len(self_attention_layers(sd15.unet, "all")) == 16  # 6 encoder + 1 mid + 9 decoder (StyleAligned)


def test_single_file_layout_matches_a_real_sd15_checkpoint(sd15):
    """Our LDM-layout writer, at SD 1.5's shapes: diffusers' own conversion maps every key back to the model's
    parameter of the same shape, and the keys diffusers uses to recognise an SD 1.x file are present."""
    from diffusers.loaders.single_file_utils import (CHECKPOINT_KEY_NAMES, convert_ldm_clip_checkpoint,
                                                     convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint,
                                                     infer_diffusers_model_type)

    checkpoint = ldm_state_dict(sd15)
    assert CHECKPOINT_KEY_NAMES["v1"] in checkpoint and CHECKPOINT_KEY_NAMES["clip"] in checkpoint
    assert infer_diffusers_model_type(checkpoint) == "v1"
    converted = {"unet": convert_ldm_unet_checkpoint(checkpoint, dict(sd15.unet.config)),
                 "vae": convert_ldm_vae_checkpoint(checkpoint, dict(sd15.vae.config)),
                 "text_encoder": convert_ldm_clip_checkpoint(checkpoint)}
    for part, state in converted.items():
        model = getattr(sd15, part).state_dict()
        if part == "text_encoder" and not any(k.startswith("text_model.") for k in model):
            state = {k.removeprefix("text_model."): v for k, v in state.items()}
        assert state.keys() == model.keys(), part
        assert all(state[k].shape == model[k].shape for k in model), part
