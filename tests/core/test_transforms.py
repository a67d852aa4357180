"""AdaIN and WCT feature transforms: moments, covariances, rank-deficient inputs, alpha, blending, regions."""

import pytest
import torch

from core.errors import InputError
from core.image.feedforward import label_map
from core.image.transforms import adain, labels_at, transform_features, wct_columns


def _features(c=16, h=6, w=7, seed=0, scale=3.0, shift=1.0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(c, c, generator=g, dtype=torch.float64)
    return (mix @ torch.randn(c, h * w, generator=g, dtype=torch.float64) * scale + shift).reshape(1, c, h, w)


def _cov(f):
    x = f[0].flatten(1).double()
    x = x - x.mean(1, keepdim=True)
    return x @ x.T / (x.shape[1] - 1)


def test_adain_gives_the_style_mean_and_std_per_channel():
    content, style = _features(seed=1).float(), _features(seed=2, scale=0.5, shift=-4).float()
    out = adain(content, style)
    assert torch.allclose(out.mean((2, 3)), style.mean((2, 3)), atol=1e-4)
    std = lambda f: torch.sqrt(f.var((2, 3), unbiased=False) + 1e-5)
    assert torch.allclose(std(out), std(style), rtol=1e-4)


def test_adain_is_batched_per_sample():
    content, style = torch.rand(2, 4, 5, 5), torch.rand(2, 4, 3, 3) * torch.tensor([1.0, 5.0]).view(2, 1, 1, 1)
    out = adain(content, style)
    assert torch.allclose(out[1:], adain(content[1:], style[1:]), atol=1e-6)


def test_wct_matches_the_style_mean_and_covariance_at_full_rank():
    content, style = _features(seed=3), _features(seed=4, h=8, w=8, scale=0.7, shift=2.0)
    out = transform_features(content, [style], "wct")
    assert torch.allclose(out.mean((2, 3)), style.mean((2, 3)), atol=1e-8)
    assert torch.allclose(_cov(out), _cov(style), atol=1e-8 * _cov(style).abs().max())


def test_wct_is_finite_and_matches_on_the_range_for_rank_deficient_features():
    # 64 channels but only 12 pixels (rank ≤ 11), plus dead (all-zero) channels in the content.
    content, style = _features(c=64, h=3, w=4, seed=5), _features(c=64, h=3, w=5, seed=6)
    content[:, 40:] = 0
    out = transform_features(content.float(), [style.float()], "wct")
    assert torch.isfinite(out).all()
    assert out.abs().max() < 10 * style.abs().max()
    # The output's covariance lives inside the style covariance's range and has the content's rank.
    eigvals, eigvecs = torch.linalg.eigh(_cov(style))
    null = eigvecs[:, eigvals < 1e-8 * eigvals.max()]
    assert (null.T @ _cov(out.double()) @ null).abs().max() < 1e-4 * eigvals.max()
    assert torch.linalg.matrix_rank(_cov(out.double()), rtol=1e-6) == torch.linalg.matrix_rank(_cov(content), rtol=1e-6)


def test_wct_of_a_flat_content_returns_the_style_mean():
    flat = torch.full((16, 20), 3.0, dtype=torch.float64)
    style = _features(seed=7)[0].flatten(1)
    out = wct_columns(flat, style)
    assert torch.allclose(out, style.mean(1, keepdim=True).expand_as(out), atol=1e-9)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_alpha_blends_with_the_content(method):
    content, style = _features(seed=8), _features(seed=9)
    full = transform_features(content, [style], method, alpha=1.0)
    assert torch.equal(transform_features(content, [style], method, alpha=0.0), content)
    assert torch.allclose(transform_features(content, [style], method, alpha=0.25), 0.25 * full + 0.75 * content)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_several_styles_interpolate_with_normalised_weights(method):
    content, a, b = _features(seed=10), _features(seed=11), _features(seed=12, scale=0.2)
    one_a = transform_features(content, [a], method)
    one_b = transform_features(content, [b], method)
    mixed = transform_features(content, [a, b], method, weights=[3, 1])
    assert torch.allclose(mixed, 0.75 * one_a + 0.25 * one_b, atol=1e-9)
    assert torch.allclose(transform_features(content, [a, b], method, weights=[0, 2]), one_b, atol=1e-9)


def test_label_regions_take_their_own_style_with_region_statistics():
    content = _features(c=8, h=6, w=8, seed=13).float()
    styles = [_features(c=8, seed=14, shift=-5).float(), _features(c=8, seed=15, shift=9).float()]
    labels = torch.zeros(6, 8, dtype=torch.long)
    labels[:, 5:] = 1
    out = transform_features(content, styles, "adain", labels=labels)
    for k, region in enumerate([(slice(None), slice(0, 5)), (slice(None), slice(5, None))]):
        part = out[0][:, region[0], region[1]]
        assert torch.allclose(part.mean((1, 2)), styles[k].mean((2, 3))[0], atol=1e-3)


def test_label_map_from_grey_levels_and_too_many_levels():
    mask = torch.zeros(1, 1, 4, 6)
    mask[..., 3:] = 1.0
    mask[..., 5:] = 0.5
    labels = label_map(mask, styles=3)
    assert labels[0].tolist() == [0, 0, 0, 2, 2, 1]
    with pytest.raises(InputError, match="3 grey levels .* only 2 style"):
        label_map(mask, styles=2)


def test_labels_resize_with_nearest_neighbour():
    labels = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1]])
    assert labels_at(labels, (1, 2)).tolist() == [[0, 1]]


@pytest.mark.parametrize("kwargs,expect", [
    ({"method": "picasso"}, "unknown feed-forward method"), ({"alpha": 1.5}, "alpha"),
    ({"weights": [1.0]}, "one weight per style"), ({"weights": [-1.0, 2.0]}, "non-negative"),
    ({"weights": [1.0, 1.0], "labels": torch.zeros(6, 7, dtype=torch.long)}, "cannot be combined"),
])
def test_bad_settings_raise_input_error(kwargs, expect):
    content = _features(seed=16)
    with pytest.raises(InputError, match=expect):
        transform_features(content, [_features(seed=17), _features(seed=18)], **kwargs)
