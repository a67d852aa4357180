"""StyleAligned-like shared attention: the reference is untouched by sharing, the others change."""

import math

import pytest
import torch

from core.errors import InputError
from core.priors.attention import installed_processors, match_statistics, self_attention_layers
from core.priors.ddim import invert
from core.priors.shared_attention import SharedAttentionProcessor, generate_shared, generate_with_style_reference

STEPS = 4
PROMPTS = ["a cat", "a house"]


def relative_difference(a, b):
    return ((a - b).norm() / b.norm()).item()


def unet_output(model, latents, text):
    with torch.no_grad():
        return model.unet(latents, 501, encoder_hidden_states=text).sample


@pytest.mark.parametrize("groups", [1, 2], ids=["one group", "guidance halves"])
def test_reference_output_unchanged_by_sharing_others_change(tiny_model, groups):
    size = 3
    latents = torch.randn(groups * size, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    text = tiny_model.encode_prompts(["a painting", *PROMPTS] * groups)
    plain = unet_output(tiny_model, latents, text)
    processors = {name: SharedAttentionProcessor(size) for name in self_attention_layers(tiny_model.unet, "all")}
    with installed_processors(tiny_model.unet, processors):
        shared = unet_output(tiny_model, latents, text)
    for g in range(groups):
        ref = g * size
        assert torch.allclose(shared[ref], plain[ref], atol=1e-6)
        for other in range(ref + 1, ref + size):
            assert relative_difference(shared[other], plain[other]) > 1e-2


def test_shared_processor_matches_hand_computation(tiny_model):
    """Image 1 attends to [reference keys + log s, own keys] with AdaIN-normalised queries and keys."""
    attn = tiny_model.unet.up_blocks[1].attentions[0].transformer_blocks[0].attn1
    hidden = torch.randn(2, 256, 32, generator=torch.Generator().manual_seed(0))
    scale = 3.0
    out = SharedAttentionProcessor(2, share_scale=scale)(attn, hidden)
    with torch.no_grad():
        q, k, v = (proj(hidden).view(2, 256, 4, 8).transpose(1, 2) for proj in (attn.to_q, attn.to_k, attn.to_v))
        q1 = match_statistics(q[1], q[0], dims=(-2,))
        k1 = match_statistics(k[1], k[0], dims=(-2,))
        logits = torch.cat([q1 @ k[0].transpose(-1, -2) / math.sqrt(8) + math.log(scale),
                            q1 @ k1.transpose(-1, -2) / math.sqrt(8)], dim=-1)
        mixed = torch.softmax(logits, dim=-1) @ torch.cat([v[0], v[1]], dim=-2)
        expected = attn.to_out[0](mixed.transpose(0, 1).reshape(256, 32))
    assert torch.allclose(out[1], expected, atol=1e-5)


def test_generation_with_sharing_differs_from_without(tiny_model, images):
    _, style = images
    with torch.no_grad():
        trajectory = invert(tiny_model, tiny_model.encode_images(style), tiny_model.encode_prompts([""]), STEPS)
    before = tiny_model.unet.attn_processors
    shared = generate_shared(tiny_model, PROMPTS, trajectory, steps=STEPS, seed=1)
    assert all(tiny_model.unet.attn_processors[k] is before[k] for k in before)
    alone = generate_shared(tiny_model, PROMPTS, trajectory, steps=STEPS, seed=1, layers=[])
    assert shared.shape == (2, 4, 16, 16)
    assert relative_difference(shared, alone) > 1e-3
    assert torch.equal(generate_shared(tiny_model, PROMPTS, trajectory, steps=STEPS, seed=1), shared)


def test_generate_with_style_reference_returns_images(tiny_model, images):
    _, style = images
    out = generate_with_style_reference(style, PROMPTS, tiny_model, steps=STEPS, progress=False)
    assert out.shape == (2, 3, 32, 32) and 0.0 <= out.min() and out.max() <= 1.0


def test_bad_share_scale_and_no_prompts_are_input_errors(tiny_model, images):
    with pytest.raises(InputError, match="positive"):
        SharedAttentionProcessor(3, share_scale=0.0)
    with pytest.raises(InputError, match="--prompt"):
        generate_with_style_reference(images[1], [], tiny_model, steps=STEPS)
