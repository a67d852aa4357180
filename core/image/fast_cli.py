"""The ``--method fast`` branch of ``stylize image``: :func:`core.image.fast.stylize_fast` with its defaults.

Flags it reads: ``--size``, ``--steps`` (L-BFGS steps at the working size), ``--style-scale`` and
``--preserve-color``. The report splits ``timings.load_s`` (VGG19 weights) from ``timings.stylize_s`` (read,
stylize, write), as the adain/wct branch does.
"""

from pathlib import Path

from core.config import replace_fields
from core.errors import InputError
from core.image.fast import FastConfig, stylize_fast
from core.image.feedforward_cli import FeedForwardReport
from core.io.images import load_image, save_image
from core.nn.vgg import load_vgg19


def run_fast(job, output: Path) -> int:
    """``stylize image --method fast`` inside :func:`core.cli.run_job` (``job.args``: ``stylize image``'s)."""
    args, device = job.args, job.device
    if len(args.styles) != 1:
        raise InputError(f"--method fast takes exactly one STYLE image, got {len(args.styles)}")
    if args.mask or args.blend:
        raise InputError("--method fast takes neither --mask nor --blend; use --method gatys or adain for those")
    steps = {} if args.steps is None else {"steps": args.steps}
    config = replace_fields(FastConfig, style_scale=args.style_scale, preserve_color=args.preserve_color, **steps)
    config.validate()
    report = job.report = FeedForwardReport.like(job.report)
    with report.phase("load"):
        encoder = load_vgg19(device)
    with report.phase("stylize"):
        content = load_image(args.content, long_side=args.size, device=device)
        style = load_image(args.styles[0], long_side=config.style_side(args.size), device=device)
        image = stylize_fast(content, style, config, encoder=encoder, progress=job.progress)
        save_image(image, output)
    report.inputs = [args.content, args.styles[0]]
    report.outputs = [str(output)]
    report.sizes = {"output": {"width": content.shape[-1], "height": content.shape[-2]}}
    report.metrics = {"method": "fast", "work_size": config.work_size, "steps": config.steps,
                      "style_weight": config.style_weight, "detail": config.detail}
    return 0
