"""How fast this machine can possibly run a network: its best sustained convolution throughput and FLOP counts.

A benchmark that misses a time target should show whether the target is below this floor — the least time any
implementation of the same arithmetic could take here — rather than leave it to guesswork.
"""

import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode


def sustained_conv_gflops(repeats: int = 5) -> float:
    """Best GFLOP/s of one 256→256 3×3 convolution at 128×128 (a typical VGG layer), channels-last, fp32.

    Channels-last is oneDNN's fastest layout on CPU (measured ≈1.7× the NCHW throughput on this project's Xeon);
    the result is the best of ``repeats`` runs, so it is a ceiling for whole networks of such layers.
    """
    x = torch.randn(1, 256, 128, 128).contiguous(memory_format=torch.channels_last)
    w = torch.randn(256, 256, 3, 3).contiguous(memory_format=torch.channels_last)
    flops = 2 * 128 * 128 * 256 * 256 * 9
    best = float("inf")
    with torch.inference_mode():
        F.conv2d(x, w, padding=1)
        for _ in range(repeats):
            start = time.perf_counter()
            F.conv2d(x, w, padding=1)
            best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def gflop(fn: Callable[[], object]) -> float:
    """Floating-point work of ``fn()`` in GFLOP as counted by ``torch.utils.flop_counter`` (convs, matmuls,
    and their backward passes when ``fn`` calls ``backward``)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9
