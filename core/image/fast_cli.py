"""The ``--method fast`` branch of ``stylize image``: the quick recipe on ONNX Runtime or torch (``--engine``).

``--engine auto`` (default) runs ONNX Runtime (:mod:`core.image.fast_ort`: no torch imported, so the whole command
takes about a second) when onnxruntime is installed, the device is the CPU (``--device cpu``, or ``auto`` on a
machine without an NVIDIA GPU) and the settings are ones it runs (not ``--preserve-color``); otherwise torch
(:mod:`core.image.fast`, any device). The first ONNX run builds the graphs into the cache
(:mod:`core.nn.onnx_cache`; that run imports torch once, ``metrics.graphs_built`` says so).

Flags it reads: ``--size``, ``--steps`` (L-BFGS steps at the working size), ``--style-scale``, ``--preserve-color``
and ``--engine``. The report splits ``timings.load_s`` (weights or graph sessions) from ``timings.stylize_s`` (read,
stylize, write) and names the engine in ``metrics.engine``.
"""

from __future__ import annotations

from pathlib import Path

from core.config import replace_fields
from core.errors import InputError
from core.image.fast_config import FastConfig
from core.report import LoadStylizeReport

ENGINES = ("auto", "onnx", "torch")


def nvidia_gpu_present() -> bool:
    """True when the NVIDIA driver lists a GPU (``/proc/driver/nvidia/gpus``): checked without importing torch."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def choose_engine(engine: str, device: str, config: FastConfig) -> str:
    """``"onnx"`` or ``"torch"`` for ``--engine engine --device device`` (module docstring); :class:`InputError`
    when ``--engine onnx`` cannot run these settings."""
    from core.image.fast_ort import onnxruntime_installed, supports

    if engine not in ENGINES:
        raise InputError(f"unknown --engine {engine!r}; choose from {', '.join(ENGINES)}")
    device = (device or "auto").strip().lower()
    if engine == "onnx":
        problems = [why for why, bad in (("onnxruntime is not installed (pip install onnxruntime onnx)",
                                          not onnxruntime_installed()),
                                         (f"it runs on the CPU only, not --device {device}",
                                          device not in ("auto", "cpu")),
                                         ("it does not do --preserve-color", not supports(config))) if bad]
        if problems:
            raise InputError(f"--engine onnx cannot run this: {'; '.join(problems)}")
        return "onnx"
    if engine == "torch":
        return "torch"
    on_cpu = device == "cpu" or (device == "auto" and not nvidia_gpu_present())
    return "onnx" if on_cpu and onnxruntime_installed() and supports(config) else "torch"


def run_fast(job, output: Path) -> int:
    """``stylize image --method fast`` inside :func:`core.cli.run_job` (``job.args``: ``stylize image``'s)."""
    args = job.args
    if len(args.styles) != 1:
        raise InputError(f"--method fast takes exactly one STYLE image, got {len(args.styles)}")
    if args.mask or args.blend:
        raise InputError("--method fast takes neither --mask nor --blend; use --method gatys or adain for those")
    steps = {} if args.steps is None else {"steps": args.steps}
    config = replace_fields(FastConfig, style_scale=args.style_scale, preserve_color=args.preserve_color, **steps)
    config.validate()
    engine = choose_engine(args.engine, args.device, config)
    report = job.report = LoadStylizeReport.like(job.report)
    status = (_run_onnx if engine == "onnx" else _run_torch)(job, config, output)
    report.inputs = [args.content, args.styles[0]]
    report.outputs = [str(output)]
    report.metrics.update({"method": "fast", "engine": engine, "work_size": config.work_size,
                           "steps": config.steps, "first_step": config.first_step,
                           "style_weight": config.style_weight, "detail": config.detail})
    return status


def _run_onnx(job, config: FastConfig, output: Path) -> int:
    from core.image.fast_ort import FastGraphSessions, stylize_fast_array
    from core.io.image_files import read_rgb, write_rgb
    from core.nn.onnx_cache import fast_graph_paths, onnxruntime_version
    from core.losses.config import CONTENT_LAYER
    from core.progress import steps_progress

    args, report = job.args, job.report
    with report.phase("load"):
        built = not fast_graph_paths(config.style_layers, CONTENT_LAYER).exist()
        sessions = FastGraphSessions(config)
    report.threads = sessions.threads
    with report.phase("stylize"):
        content = read_rgb(args.content, long_side=args.size)
        style = read_rgb(args.styles[0], long_side=config.style_side(args.size))
        with steps_progress(config.steps, "fast (onnxruntime)", job.progress) as on_step:
            result = stylize_fast_array(content, style, config, sessions, on_step=on_step)
        write_rgb(result.image, output, compress_level=1)
    report.sizes = {"output": {"width": content.shape[1], "height": content.shape[0]}}
    report.metrics = {"onnxruntime": onnxruntime_version(), "graphs_built": built,
                      "loss_history": [h["total"] for h in result.steps.history]}
    if result.steps.stopped == "interrupted":
        return job.interrupted(f"wrote the result of the steps finished so far to {output}")
    return 0


def _run_torch(job, config: FastConfig, output: Path) -> int:
    from core.image.fast import stylize_fast
    from core.io.images import load_image, save_image
    from core.nn.vgg import load_vgg19

    args, report, device = job.args, job.report, job.device
    with report.phase("load"):
        encoder = load_vgg19(device)
    with report.phase("stylize"):
        content = load_image(args.content, long_side=args.size, device=device)
        style = load_image(args.styles[0], long_side=config.style_side(args.size), device=device)
        image = stylize_fast(content, style, config, encoder=encoder, progress=job.progress)
        save_image(image, output)
    report.sizes = {"output": {"width": content.shape[-1], "height": content.shape[-2]}}
    return 0

