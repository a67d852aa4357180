"""Attention-processor plumbing: parity with diffusers' own processor, restoring, layer selection, AdaIN."""

import pytest
import torch

from core.errors import InputError
from core.priors.attention import SelfAttention, installed_processors, match_statistics, select_layers, \
    self_attention_layers


def unet_output(model, latents, text):
    with torch.no_grad():
        return model.unet(latents, 301, encoder_hidden_states=text).sample


def test_own_self_attention_matches_diffusers_processor(tiny_model):
    latents = torch.randn(2, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    text = tiny_model.encode_prompts(["a cat", "a dog"])
    layers = self_attention_layers(tiny_model.unet, "all")
    reference = unet_output(tiny_model, latents, text)
    with installed_processors(tiny_model.unet, {name: SelfAttention() for name in layers}):
        ours = unet_output(tiny_model, latents, text)
    assert torch.allclose(ours, reference, atol=1e-6)
    assert reference.abs().max() > 1e-3


def test_layer_names_in_network_order(tiny_model):
    decoder = self_attention_layers(tiny_model.unet, "decoder")
    assert decoder == [f"up_blocks.{b}.attentions.{a}.transformer_blocks.0.attn1.processor"
                       for b in (0, 1) for a in (0, 1)]
    everything = self_attention_layers(tiny_model.unet, "all")
    assert len(everything) == 7 and set(decoder) < set(everything)


def test_installed_processors_restores_previous_ones_even_after_an_error(tiny_model):
    before = tiny_model.unet.attn_processors
    layer = self_attention_layers(tiny_model.unet)[0]
    mine = SelfAttention()
    with pytest.raises(KeyboardInterrupt):
        with installed_processors(tiny_model.unet, {layer: mine}):
            assert tiny_model.unet.attn_processors[layer] is mine
            raise KeyboardInterrupt
    after = tiny_model.unet.attn_processors
    assert after.keys() == before.keys() and all(after[k] is before[k] for k in before)


def test_select_layers_by_default_index_and_name():
    names = [f"layer{i}" for i in range(9)]
    assert select_layers(names, None, 5) == names[4:]
    assert select_layers(names[:3], None, 5) == names[:3]
    assert select_layers(names, None) == names
    assert select_layers(names, [0, -1, "layer3", 0]) == ["layer0", "layer8", "layer3"]
    assert select_layers(names, []) == []
    with pytest.raises(InputError, match="indices 0..8"):
        select_layers(names, [9])


def test_match_statistics_copies_mean_and_std_over_the_given_dims():
    x = torch.randn(3, 2, 50, 4) * 3 + 1
    ref = torch.randn(1, 2, 40, 4) * 0.5 - 2
    out = match_statistics(x, ref, dims=(-2,))
    assert torch.allclose(out.mean(-2), ref.mean(-2).expand(3, -1, -1), atol=1e-5)
    assert torch.allclose(out.std(-2, unbiased=False), ref.std(-2, unbiased=False).expand(3, -1, -1), atol=1e-4)
