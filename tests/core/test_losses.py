import itertools

import pytest
import torch

from core.losses import (ContrastiveStyleLoss, blend_grams, colour_stats_loss, content_loss, feature_stats,
                         gram_matrix, gram_style_loss, meanstd_style_loss, nnfm_loss, total_variation)


def test_gram_matrix_known_values():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # 1,2,2,2
    raw = gram_matrix(f, normalize=False)
    assert torch.allclose(raw[0], torch.tensor([[30.0, 6.0], [6.0, 2.0]]))
    assert torch.allclose(gram_matrix(f)[0], raw[0] / 4)


def test_gram_loss_conventions_known_value():
    # N=1 channel, M=2 positions: G = x1²+x2², A target given normalised.
    f = torch.tensor([[[[1.0, 3.0]]]])  # G/M = 5
    target = {"l": torch.tensor([[3.0]])}
    normalized = gram_style_loss({"l": f}, target, convention="normalized")
    gatys = gram_style_loss({"l": f}, target, convention="gatys")
    assert normalized.item() == pytest.approx(4.0)  # (5-3)^2 / N^2
    # Paper: sum (G-A)^2 / (4 N^2 M^2) with raw G=10, A=6 -> 16/(4*4) = 1
    assert gatys.item() == pytest.approx(1.0)


def test_gram_loss_zero_at_target_and_layer_weights():
    f = {"a": torch.rand(1, 3, 4, 5), "b": torch.rand(1, 4, 2, 2)}
    targets = {k: gram_matrix(v)[0] for k, v in f.items()}
    assert gram_style_loss(f, targets).item() == pytest.approx(0.0, abs=1e-7)
    other = {k: gram_matrix(torch.rand_like(v))[0] for k, v in f.items()}
    la = gram_style_loss(f, {"a": other["a"]})
    lb = gram_style_loss(f, {"b": other["b"]})
    both = gram_style_loss(f, other, weights={"a": 2.0, "b": 0.5})
    assert both.item() == pytest.approx(2.0 * la.item() + 0.5 * lb.item(), rel=1e-5)
    with pytest.raises(ValueError):
        gram_style_loss(f, other, weights={"c": 1.0})


def test_gram_loss_invariant_to_spatial_permutation():
    f = torch.rand(1, 5, 6, 7)
    target = {"l": gram_matrix(torch.rand(1, 5, 4, 4))[0]}
    perm = torch.randperm(42)
    shuffled = f.reshape(1, 5, 42)[:, :, perm].reshape(1, 5, 6, 7)
    assert gram_style_loss({"l": shuffled}, target).item() == pytest.approx(gram_style_loss({"l": f}, target).item(), rel=1e-5)


def test_blend_grams_weights():
    g1, g2 = {"l": torch.ones(2, 2)}, {"l": torch.zeros(2, 2)}
    assert torch.allclose(blend_grams([g1, g2], [3, 1])["l"], torch.full((2, 2), 0.75))
    with pytest.raises(ValueError):
        blend_grams([g1, g2], [1.0])


@pytest.mark.parametrize("loss", ["gram", "meanstd", "nnfm", "content", "tv"])
def test_gradcheck_float64(loss):
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, 5, 3, dtype=torch.float64)
    fns = {
        "gram": lambda t: gram_style_loss({"l": t}, {"l": gram_matrix(y)[0]}),
        "meanstd": lambda t: meanstd_style_loss({"l": t}, {"l": feature_stats(y)}),
        "nnfm": lambda t: nnfm_loss(t, y),
        "content": lambda t: content_loss(t, y[..., :4, :3].repeat(1, 1, 1, 2)[..., :4]),
        "tv": total_variation,
    }
    fn = fns[loss]
    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-3, rtol=1e-2)


def test_meanstd_known_value_and_zero():
    f = torch.tensor([[[[0.0, 2.0], [0.0, 2.0]]]])  # mean 1, var 1
    mean, std = feature_stats(f, eps=0.0)
    assert mean.item() == pytest.approx(1.0) and std.item() == pytest.approx(1.0)
    target = {"l": (torch.tensor([3.0]), torch.tensor([2.0]))}
    # (1-3)^2 + (sqrt(1+1e-5)-2)^2
    expected = 4.0 + (1.0000049999875 - 2.0) ** 2
    assert meanstd_style_loss({"l": f}, target).item() == pytest.approx(expected, rel=1e-5)
    assert meanstd_style_loss({"l": f}, {"l": feature_stats(f)}).item() == pytest.approx(0.0, abs=1e-10)


def test_nnfm_known_value_zero_and_chunking():
    out = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])   # vectors (1,0) and (0,1)
    style = torch.tensor([[[[1.0]], [[1.0]]]])            # one vector (1,1)
    # cos = 1/sqrt(2) for both -> loss = 1 - 1/sqrt(2)
    assert nnfm_loss(out, style).item() == pytest.approx(1 - 2 ** -0.5, rel=1e-6)
    assert nnfm_loss(out, out).item() == pytest.approx(0.0, abs=1e-6)
    a, s = torch.rand(2, 8, 9, 7), torch.rand(1, 8, 5, 6)
    assert nnfm_loss(a, s, chunk_elements=5 * 2 * 30).item() == pytest.approx(nnfm_loss(a, s).item(), rel=1e-6)  # 5 rows


def test_content_loss_value_and_shape_error():
    a = torch.zeros(1, 2, 2, 2)
    assert content_loss(a, torch.ones_like(a)).item() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        content_loss(a, torch.zeros(1, 2, 3, 2))


def test_total_variation_known_value():
    img = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    # horizontal diffs: 1,1 -> mean 1 ; vertical: 0,0 -> 0
    assert total_variation(img).item() == pytest.approx(1.0)
    assert total_variation(torch.ones(1, 3, 5, 5)).item() == 0.0


def test_colour_stats_loss_zero_at_own_stats():
    img = torch.rand(1, 3, 6, 6)
    px = img.permute(0, 2, 3, 1).reshape(-1, 3)
    mean = px.mean(0)
    cov = (px - mean).T @ (px - mean) / px.shape[0]
    assert colour_stats_loss(img, mean, cov).item() == pytest.approx(0.0, abs=1e-10)
    assert colour_stats_loss(img, mean + 0.1, cov).item() == pytest.approx(0.03, rel=1e-4)


def _features(seed, batch=4):
    g = torch.Generator().manual_seed(seed)
    return {"relu1_1": torch.rand(batch, 4, 6, 6, generator=g) * 3, "relu2_1": torch.rand(batch, 6, 3, 3, generator=g)}


def test_contrastive_loss_falls_as_positives_move_closer():
    torch.manual_seed(0)
    loss_fn = ContrastiveStyleLoss({"relu1_1": 4, "relu2_1": 6}, code_dim=16)
    anchor = _features(1)
    far = _features(2)
    values = []
    for t in (1.0, 0.5, 0.2, 0.0):
        positive = {k: (1 - t) * anchor[k] + t * far[k] for k in anchor}
        values.append(loss_fn(anchor, positive).item())
    assert all(a > b for a, b in itertools.pairwise(values)), values


def test_contrastive_temperature_range_queue_and_same_style_mask():
    loss_fn = ContrastiveStyleLoss({"relu1_1": 4, "relu2_1": 6}, code_dim=8, tau_min=0.1, tau_max=0.3, queue_size=5)
    taus = loss_fn.temperatures(torch.tensor([-100.0, 0.0, 100.0]))
    assert torch.allclose(taus, torch.tensor([0.1, 0.2, 0.3]))
    a = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    # With every other sample marked as the same style, only the positive remains: loss is exactly 0.
    same = loss_fn.info_nce(a, a, torch.full((3,), 0.1), torch.zeros(3, dtype=torch.long))
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    loss_fn.enqueue(torch.randn(4, 8), torch.arange(4))
    loss_fn.enqueue(torch.randn(4, 8), torch.arange(4, 8))
    assert loss_fn.queue.shape == (5, 8) and loss_fn.queue_ids.tolist()[:4] == [4, 5, 6, 7]
    # queued negatives raise the loss of the same anchors
    with_queue = loss_fn.info_nce(a, a, torch.full((3,), 0.1), torch.arange(100, 103))
    loss_fn.queue = loss_fn.queue[:0]
    loss_fn.queue_ids = loss_fn.queue_ids[:0]
    without = loss_fn.info_nce(a, a, torch.full((3,), 0.1), torch.arange(100, 103))
    assert with_queue.item() > without.item()


def test_contrastive_gradcheck_info_nce():
    loss_fn = ContrastiveStyleLoss({"relu1_1": 2}, code_dim=4).double()
    a = torch.nn.functional.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1).requires_grad_(True)
    p = torch.nn.functional.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1)
    tau = torch.tensor([0.1, 0.15, 0.2], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: loss_fn.info_nce(x, p, tau, torch.arange(3)), (a,))
