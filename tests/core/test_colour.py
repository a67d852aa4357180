import torch

from core.colour import (apply_affine_colour, fit_affine_colour_map, histogram_match, image_pixels,
                         luminance_transfer, match_colour_stats, rgb_to_yiq, yiq_to_rgb)


def _stats(px):
    px = px.double()
    mean = px.mean(0)
    return mean, (px - mean).T @ (px - mean) / px.shape[0]


def test_affine_map_matches_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    src = torch.rand(500, 3, generator=g) @ torch.tensor([[0.5, 0.1, 0.0], [0.0, 0.3, 0.2], [0.1, 0.0, 0.2]])
    dst = torch.rand(400, 3, generator=g) * 0.5 + 0.2
    a, b = fit_affine_colour_map(src, dst)
    mapped = src @ a.T + b
    m1, c1 = _stats(mapped)
    m2, c2 = _stats(dst)
    assert torch.allclose(m1, m2, atol=1e-5)
    assert torch.allclose(c1, c2, atol=1e-4)
    # A is Σ_t^½ Σ_s^-½: with identical statistics it is the identity
    a_id, b_id = fit_affine_colour_map(src, src)
    assert torch.allclose(a_id, torch.eye(3), atol=1e-3) and torch.allclose(b_id, torch.zeros(3), atol=1e-3)


def test_flat_image_gives_no_nan():
    flat = torch.full((1, 3, 8, 8), 0.4)
    style = torch.rand(1, 3, 8, 8)
    out = match_colour_stats(flat, style)
    assert torch.isfinite(out).all()
    a, b = fit_affine_colour_map(image_pixels(style), image_pixels(flat))
    assert torch.isfinite(a).all() and torch.allclose(apply_affine_colour(style, a, b), flat, atol=0.02)


def test_yiq_round_trip_and_luminance_transfer_keeps_content_chroma():
    img = torch.rand(1, 3, 5, 6)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(img)), img, atol=1e-5)
    content = torch.rand(1, 3, 5, 6) * 0.5 + 0.25
    stylized = torch.rand(1, 3, 5, 6) * 0.5 + 0.25
    out = luminance_transfer(stylized, content)
    assert torch.allclose(rgb_to_yiq(out)[:, 0], rgb_to_yiq(stylized)[:, 0], atol=1e-4)
    assert torch.allclose(rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:], atol=1e-4)


def test_histogram_match_takes_reference_values_in_order():
    img = torch.tensor([[[[0.3, 0.1, 0.2, 0.4]]]]).repeat(1, 3, 1, 1)
    ref = torch.tensor([[[[10.0, 40.0, 30.0, 20.0]]]]).repeat(1, 3, 1, 1)
    out = histogram_match(img, ref)
    assert out[0, 0, 0].tolist() == [30.0, 10.0, 20.0, 40.0]
    flat = histogram_match(torch.zeros(1, 3, 2, 2), ref)
    assert torch.isfinite(flat).all()
