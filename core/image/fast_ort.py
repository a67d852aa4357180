"""The quick path's recipe (:mod:`core.image.fast`) on ONNX Runtime: numpy + PIL + onnxruntime, no torch at run time.

Same steps as the torch engine — colour transfer at the working size, :func:`core.image.lbfgs_numpy.lbfgs_steps`
on the relative Gram + content loss, bicubic upsample plus the photo's detail — with the loss and its gradient
from the hand-built graph of :mod:`core.nn.vgg_onnx` (cached by :mod:`core.nn.onnx_cache`). Resampling is PIL's
bicubic instead of torch's, so the two engines agree closely but not bit for bit (``tests/core/image/
test_fast_ort.py`` bounds the difference). Images are ``H,W,3`` float32 arrays in [0,1] here.

Supported: the default style layers (``relu1_1 … relu4_1`` + ``relu4_2`` content; other layer sets build their own
graphs) without ``preserve_color`` (the torch engine does that); :func:`supports` says which configs qualify.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from core.colour_stats import match_colour_array
from core.errors import InputError
from core.image.fast_config import FastConfig
from core.image.lbfgs_numpy import StepsResult, lbfgs_steps
from core.io.image_files import resize_rgb
from core.losses.config import CONTENT_LAYER, MIN_VGG_SIDE, style_long_side


def onnxruntime_installed() -> bool:
    """True when onnxruntime can be imported (checked without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def supports(config: FastConfig) -> bool:
    """True when this engine runs ``config`` as the torch engine would (no ``preserve_color``)."""
    return not config.preserve_color


def default_threads() -> int:
    """ONNX Runtime intra-op threads: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class FastGraphSessions:
    """ONNX Runtime sessions of the two fast-path graphs for ``config``'s layers (built into the cache on first
    use, which needs torch and onnx once). ``threads``: intra-op threads (default: the usable cores)."""

    def __init__(self, config: FastConfig, threads: Optional[int] = None):
        import onnxruntime

        from core.nn.onnx_cache import fast_graphs

        self.layers = tuple(config.style_layers)
        graphs = fast_graphs(self.layers, CONTENT_LAYER)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # cached optimised
        providers = ["CPUExecutionProvider"]
        self.threads = options.intra_op_num_threads
        self.targets = onnxruntime.InferenceSession(str(graphs.targets), options, providers=providers)
        self.loss_grad = onnxruntime.InferenceSession(str(graphs.loss_grad), options, providers=providers)

    def style_grams(self, style: np.ndarray) -> dict:
        """``{"A_<layer>": C,C}`` Gram targets of ``style`` ``h,w,3``."""
        names = [f"G_{layer}" for layer in self.layers]
        grams = self.targets.run(names, {"x": _nchw(style)})
        return {f"A_{layer}": gram for layer, gram in zip(self.layers, grams)}

    def content_features(self, content: np.ndarray) -> np.ndarray:
        """relu4_2 features ``1,512,H/8,W/8`` of ``content`` ``H,W,3``."""
        return self.targets.run(["content"], {"x": _nchw(content)})[0]

    def objective(self, style: np.ndarray, content: np.ndarray, config: FastConfig,
                  shape: tuple) -> Callable[[np.ndarray], tuple]:
        """``f(x) -> (loss, gradient, terms)`` for :func:`lbfgs_steps`, ``x`` float64 of ``shape`` (``1,3,H,W``)."""
        feed = {**self.style_grams(style), "R": self.content_features(content),
                "style_weight": np.array(config.style_weight, np.float32),
                "content_weight": np.array(config.content_weight, np.float32)}

        def loss_and_gradient(values: np.ndarray):
            feed["x"] = values.reshape(shape).astype(np.float32)
            loss, grad, style_term, content_term = self.loss_grad.run(["loss", "grad", "style", "content"], feed)
            return float(loss), grad.astype(np.float64), {"style": float(style_term), "content": float(content_term)}

        return loss_and_gradient


def _style_size(shape: tuple, work_long_side: int, style_scale: float) -> tuple:
    """``(width, height)`` the style is resized to (:func:`core.losses.config.style_long_side`, as the torch engine's
    :meth:`core.losses.objective.StyleObjective.set_style` does)."""
    height, width = shape
    scale = style_long_side(height, width, work_long_side, style_scale) / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _nchw(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)


@dataclass
class FastArrayResult:
    """The stylized ``H,W,3`` image in [0,1] and what the optimiser did."""

    image: np.ndarray
    steps: StepsResult


def stylize_fast_array(content: np.ndarray, style: np.ndarray, config: FastConfig,
                       sessions: FastGraphSessions, on_step=None) -> FastArrayResult:
    """Stylize ``content`` ``H,W,3`` in [0,1] after ``style`` ``h,w,3`` (read at ``config.style_side``) with the
    fast recipe on ONNX Runtime. ``on_step(i, terms)``: called after each evaluation (a progress bar)."""
    config.validate()
    if not supports(config):
        raise InputError("the ONNX Runtime fast path does not do --preserve-color; the torch engine does")
    height, width = content.shape[:2]
    scale = min(1.0, config.work_size / max(height, width))
    work = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = resize_rgb(content, work)
    if min(small.shape[:2]) < MIN_VGG_SIDE:
        raise InputError(f"the working image would be {work[0]}x{work[1]} px; its short side needs at least "
                         f"{MIN_VGG_SIDE} px: raise the work size")
    style = resize_rgb(style, _style_size(style.shape[:2], max(work), config.style_scale))
    start = match_colour_array(small, style)
    shape = (1, 3, *small.shape[:2])
    if config.steps > 0:
        f = sessions.objective(style, small, config, shape)
        steps = lbfgs_steps(f, _nchw(start).astype(np.float64), config.steps, first_step=config.first_step,
                            on_step=on_step)
        result = steps.x.reshape(shape)[0].transpose(1, 2, 0).astype(np.float32)
    else:
        steps, result = StepsResult(x=_nchw(start).astype(np.float64)), start
    if result.shape[:2] != content.shape[:2]:
        result = resize_rgb(result, (width, height), clip=False)
        if config.detail > 0:
            result = result + config.detail * (content - resize_rgb(small, (width, height), clip=False))
    return FastArrayResult(np.clip(result, 0.0, 1.0).astype(np.float32), steps)
