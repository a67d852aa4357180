"""Z-Star-like attention reweighting: the map sums to one and moves toward the style keys, the processor
computes it, the content and style branches reconstruct themselves, and sampling restores the processors."""

import math

import pytest
import torch

from core.errors import InputError
from core.priors.ddim import invert, sample
from core.priors.zstar import ZStarProcessor, reweighted_attention_map, stylize_zstar, zstar_latents

STEPS = 4


def test_reweighted_map_sums_to_one_and_moves_toward_the_style_keys():
    gen = torch.Generator().manual_seed(0)
    q, k_c, k_s = torch.randn(2, 10, 8, generator=gen), torch.randn(2, 12, 8, generator=gen), \
        torch.randn(2, 7, 8, generator=gen)
    scale = 1 / math.sqrt(8)
    maps = {w: reweighted_attention_map(q, k_c, k_s, scale, w) for w in (0.5, 1.0, 2.0, 8.0)}
    style_mass = {w: m[..., 12:].sum(-1) for w, m in maps.items()}
    for m in maps.values():
        assert m.shape == (2, 10, 19) and torch.allclose(m.sum(-1), torch.ones(2, 10), atol=1e-6)
    assert (style_mass[0.5] < style_mass[1.0]).all() and (style_mass[1.0] < style_mass[2.0]).all()
    assert (style_mass[2.0] < style_mass[8.0]).all()
    # closed form: mass on style keys = w·S / (C + w·S) with the unweighted exponential row sums S, C
    e_c, e_s = (torch.exp(q @ k.transpose(-1, -2) * scale).sum(-1) for k in (k_c, k_s))
    assert torch.allclose(style_mass[8.0], 8 * e_s / (e_c + 8 * e_s), atol=1e-6)
    # within the style columns the relative weights are unchanged by w
    assert torch.allclose(maps[8.0][..., 12:] / style_mass[8.0][..., None],
                          maps[1.0][..., 12:] / style_mass[1.0][..., None], atol=1e-6)


def test_processor_matches_the_hand_computed_map(tiny_model):
    attn = tiny_model.unet.up_blocks[1].attentions[0].transformer_blocks[0].attn1
    hidden = torch.randn(3, 256, 32, generator=torch.Generator().manual_seed(0))
    weight, temperature = 3.0, 1.5
    out = ZStarProcessor(weight, temperature)(attn, hidden)
    with torch.no_grad():
        q, k, v = (proj(hidden).view(3, 256, 4, 8).transpose(1, 2) for proj in (attn.to_q, attn.to_k, attn.to_v))
        plain = torch.softmax(q[:2] @ k[:2].transpose(-1, -2) / math.sqrt(8), -1) @ v[:2]
        m = reweighted_attention_map(q[2], k[0], k[1], temperature / math.sqrt(8), weight)
        mixed = m @ torch.cat([v[0], v[1]], dim=-2)
        heads = torch.cat([plain, mixed[None]])
        expected = attn.to_out[0](heads.transpose(1, 2).reshape(3, 256, 32))
    assert torch.allclose(out, expected, atol=1e-5)


def test_branches_reconstruct_and_the_stylized_branch_follows_the_weight(tiny_model, images):
    with torch.no_grad():
        content, style = (tiny_model.encode_images(x) for x in images)
    cond = tiny_model.encode_prompts([""])
    before = tiny_model.unet.attn_processors
    plain = sample(tiny_model, invert(tiny_model, content, cond, STEPS)[0], cond, STEPS)
    unchanged = zstar_latents(tiny_model, content, style, steps=STEPS, layers=[])
    assert torch.allclose(unchanged, plain, atol=1e-5)  # no reweighted layer: the content's own reconstruction
    low = zstar_latents(tiny_model, content, style, weight=1.0, steps=STEPS)
    high = zstar_latents(tiny_model, content, style, weight=50.0, steps=STEPS)
    assert all(tiny_model.unet.attn_processors[k] is before[k] for k in before)
    assert (high - low).norm() > 1e-3 * low.norm()
    # more weight on the style keys brings the result closer to the style latent
    assert (high - style).norm() < (low - style).norm()


def test_stylize_zstar_returns_an_image_of_the_content_size(tiny_model, images):
    content = torch.nn.functional.interpolate(images[0], size=(30, 34), mode="bilinear", align_corners=False)
    out = stylize_zstar(content, images[1], tiny_model, steps=STEPS, progress=False)
    assert out.shape == (1, 3, 30, 34) and 0 <= out.min() and out.max() <= 1


def test_bad_weight_is_an_input_error():
    with pytest.raises(InputError, match="positive"):
        ZStarProcessor(0.0)


def test_image_method_zstar_matches_the_function(tiny_model_dir, tiny_model, images, tmp_path):
    from core.cli import main
    from core.io.images import load_image, save_image

    save_image(images[0], tmp_path / "c.png")
    save_image(images[1], tmp_path / "s.png")
    out = tmp_path / "o.png"
    assert main(["image", str(tmp_path / "c.png"), str(tmp_path / "s.png"), "-o", str(out), "--method", "zstar",
                 "--model", str(tiny_model_dir), "--zstar-weight", "4", "--steps", "3", "--size", "32",
                 "--device", "cpu", "--quiet"]) == 0
    expected = stylize_zstar(load_image(tmp_path / "c.png"), load_image(tmp_path / "s.png"), tiny_model, weight=4.0,
                             steps=3, seed=0, progress=False)
    assert (load_image(out) - expected).abs().max() <= 1 / 255 + 1e-6
