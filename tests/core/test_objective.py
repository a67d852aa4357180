"""The shared style objective: known formulas per kind, relative weighting, content, blending, bad configs."""

import pytest
import torch

from core.errors import ConfigError
from core.losses import gram_matrix, nnfm_loss
from core.losses.meanstd import feature_stats
from core.losses.objective import GATYS_LAYERS, NNFM_LAYERS, StyleLossConfig, StyleObjective
from core.nn.vgg import load_vgg19


@pytest.fixture(scope="module")
def encoder():
    return load_vgg19("cpu", autocast_cpu_bf16=False)


def _images(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, 32, 40, generator=g), torch.rand(1, 3, 40, 40, generator=g)


def test_gram_is_the_mean_of_relative_layer_errors(encoder):
    image, style = _images()
    objective = StyleObjective(StyleLossConfig(kind="gram"), encoder=encoder).set_style([style], long_side=40)
    fi, fs = encoder(image, GATYS_LAYERS), encoder(style, GATYS_LAYERS)
    expected = 0.0
    for name in GATYS_LAYERS:
        g, a = gram_matrix(fi[name])[0], gram_matrix(fs[name])[0]
        c = g.shape[0]
        expected += float(((g - a) ** 2).sum() / c**2 / a.pow(2).mean()) / len(GATYS_LAYERS)
    assert float(objective.terms(image)["style"]) == pytest.approx(expected, rel=1e-5)


def test_relative_off_weighs_every_layer_one_over_l(encoder):
    image, style = _images(1)
    objective = StyleObjective(StyleLossConfig(kind="gram", relative=False), encoder=encoder).set_style([style], 40)
    fi, fs = encoder(image, GATYS_LAYERS), encoder(style, GATYS_LAYERS)
    expected = sum(float(((gram_matrix(fi[n]) - gram_matrix(fs[n])) ** 2).sum() / fi[n].shape[1] ** 2)
                   for n in GATYS_LAYERS) / len(GATYS_LAYERS)
    assert float(objective.terms(image)["style"]) == pytest.approx(expected, rel=1e-5)


def test_meanstd_relative_weights(encoder):
    image, style = _images(2)
    objective = StyleObjective(StyleLossConfig(kind="meanstd"), encoder=encoder).set_style([style], 40)
    fi, fs = encoder(image, GATYS_LAYERS), encoder(style, GATYS_LAYERS)
    expected = 0.0
    for n in GATYS_LAYERS:
        (mi, si), (ms, ss) = feature_stats(fi[n]), feature_stats(fs[n])
        raw = ((mi - ms) ** 2).mean() + ((si - ss) ** 2).mean()
        expected += float(raw / (ms.pow(2).mean() + ss.pow(2).mean())) / len(GATYS_LAYERS)
    assert float(objective.terms(image)["style"]) == pytest.approx(expected, rel=1e-5)


def test_nnfm_concatenates_relu3_layers_as_arf(encoder):
    image, style = _images(3)
    objective = StyleObjective(StyleLossConfig(kind="nnfm"), encoder=encoder).set_style([style], 40)
    fi, fs = encoder(image, NNFM_LAYERS), encoder(style, NNFM_LAYERS)
    cat = lambda f: torch.cat([f[n] for n in NNFM_LAYERS], dim=1)  # noqa: E731
    assert float(objective.terms(image)["style"]) == pytest.approx(float(nnfm_loss(cat(fi), cat(fs))), rel=1e-6)
    per_layer = sum(float(nnfm_loss(fi[n], fs[n])) for n in NNFM_LAYERS) / 3
    assert float(objective.terms(image)["style"]) != pytest.approx(per_layer, rel=1e-3)  # not the per-layer mean


def test_content_is_relative_and_zero_against_itself(encoder):
    image, reference = _images(4)
    reference = reference[..., :32, :40]
    objective = StyleObjective(StyleLossConfig(), encoder=encoder).set_style([reference], 40)
    f, r = encoder(image, ["relu4_2"])["relu4_2"], encoder(reference, ["relu4_2"])["relu4_2"]
    expected = float(((f - r) ** 2).mean() / r.pow(2).mean())
    assert float(objective.terms(image, reference)["content"]) == pytest.approx(expected, rel=1e-5)
    assert float(objective.terms(reference, reference)["content"]) == 0.0
    terms = objective.terms(image, reference, key="view")
    assert float(objective.weighted_total(terms)) == pytest.approx(float(terms["style"] + terms["content"]), rel=1e-6)


def test_blend_moves_the_target_between_two_styles(encoder):
    image, style = _images(5)
    dark = style * 0.1
    config = StyleLossConfig(kind="gram")
    only_first = StyleObjective(config, encoder=encoder).set_style([style], 40)
    mostly_dark = StyleObjective(config, encoder=encoder).set_style([style, dark], 40, blend=[0.1, 0.9])
    assert float(mostly_dark.terms(dark)["style"]) < float(only_first.terms(dark)["style"])


def test_bad_configs_name_the_field(encoder):
    with pytest.raises(ConfigError, match="style_layers unknown VGG19 layer"):
        StyleObjective(StyleLossConfig(style_layers="relu9_9"), encoder=encoder)
    with pytest.raises(ConfigError) as info:
        StyleObjective(StyleLossConfig(style_weight=-1.0), encoder=encoder)
    assert info.value.field == "style_weight" and info.value.with_flag("--style-weight").startswith("--style-weight must")
    mixed = StyleObjective(StyleLossConfig(kind="nnfm", style_layers="relu2_1,relu3_1"), encoder=encoder)
    with pytest.raises(ConfigError, match="share one resolution"):
        mixed.set_style([_images()[1]], 40)


def test_content_features_are_cached_within_a_byte_budget(encoder, monkeypatch):
    """Keyed references are cached least-recently-used first out within CONTENT_CACHE_BYTES (the latest always
    kept); an evicted key's features are computed again, equal to the first time."""
    import core.losses.objective as objective_module

    objective = StyleObjective(StyleLossConfig(kind="nnfm"), encoder=encoder).set_style([_images()[1]], 40)
    refs = [_images(seed)[0] for seed in range(3)]
    first, _ = objective.content_targets(refs[0], key=0)
    size = sum(t.numel() * t.element_size() for t in first)
    assert size == 256 * 3 * 8 * 10 * 4  # relu3_1..3_3 concatenated at a quarter of 32 x 40, float32
    monkeypatch.setattr(objective_module, "CONTENT_CACHE_BYTES", 2 * size)
    objective.content_targets(refs[1], key=1)
    assert objective.content_targets(refs[0], key=0)[0][0] is first[0]  # a hit, and 0 is now the most recent
    objective.content_targets(refs[2], key=2)  # evicts 1, the least recently used
    assert list(objective._content_targets) == [0, 2] and objective._content_bytes == 2 * size
    again, _ = objective.content_targets(refs[1], key=1)  # computed again (evicting 0)
    assert list(objective._content_targets) == [2, 1]
    fresh, _ = StyleObjective(StyleLossConfig(kind="nnfm"), encoder=encoder).content_targets(refs[1])
    assert torch.equal(again[0], fresh[0])
    monkeypatch.setattr(objective_module, "CONTENT_CACHE_BYTES", size - 1)  # one entry alone is too large:
    objective.content_targets(refs[0], key=3)  # it is kept alone (a single reference is computed once)
    assert list(objective._content_targets) == [3] and objective._content_bytes == size
