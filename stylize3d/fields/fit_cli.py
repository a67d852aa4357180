"""``stylize fit DATA -o field.safetensors --model field``: the field model of :mod:`stylize3d.fit_cli`'s ``fit``.

Fits a dense-grid radiance field (:mod:`stylize3d.fields.fit`) to the posed data and writes OUT.safetensors; with
``--report`` also the held-out PSNR/SSIM of every test view (:func:`stylize3d.fields.fit.evaluate`) and the
PSNR-vs-time curve as ``REPORT.psnr.png``."""

from __future__ import annotations

import time
from pathlib import Path

from core.cli import add_config_options, config_from_args
from core.errors import InputError
from stylize3d.fields.fit import FieldFitConfig, evaluate, fit_field
from stylize3d.fit_budget import say_budget
from stylize3d.fields.io import FIELD_SUFFIX, save_field
from stylize3d.fields.plot import plot_psnr_curve


def add_field_options(parser) -> None:
    """``--model field`` options of ``stylize fit``: one per :class:`FieldFitConfig` field (``--minutes`` is shared
    with the other models), plus ``--eval-every``."""
    add_config_options(parser, FieldFitConfig, group="--model field")
    parser.add_argument("--eval-every", type=int, default=0, metavar="STEPS",
                        help="--model field: render the first two test views every STEPS steps for the PSNR-vs-time "
                             "curve (0: only at the end)")


def run_field(job, data) -> int:
    """Fit a field to the loaded posed ``data`` and write ``args.output`` (.safetensors) and the report."""
    args, device, report = job.args, job.device, job.report
    output = Path(args.output)
    if output.suffix.lower() != FIELD_SUFFIX:
        raise InputError(f"output {output} must end in {FIELD_SUFFIX} for --model field")
    config = config_from_args(FieldFitConfig, args)
    config.validate()
    checkpoint = job.checkpoint(output.parent / f".{output.name}.checkpoint.pt", every=args.checkpoint_every,
                                meta={"data": str(Path(args.data).resolve()), "downscale": args.downscale,
                                      "config": repr(config), "seed": args.seed})
    cpu_start = time.process_time()
    with report.phase("fit"):
        result = fit_field(data, config, device, seed=args.seed, checkpoint=checkpoint, resume=job.resume,
                           progress=job.progress, eval_every=args.eval_every)
    cpu_seconds = time.process_time() - cpu_start
    with report.phase("write"):
        save_field(result.field, output)
    report.outputs = [str(output)]
    report.set_steps(result.steps_done, result.seconds)
    report.sizes = {"resolution": list(result.field.resolution[::-1]), "train_views": len(data.split["train"]),
                    "test_views": len(data.split["test"]), "width": data.size[0], "height": data.size[1]}
    metrics = {"train_psnr": result.train_psnr, "fit_seconds": result.seconds, "cpu_seconds": cpu_seconds,
               "occupied_fraction": float(result.field.occupancy.float().mean()), "interrupted": result.interrupted,
               "curve": result.curve, **result.budget}
    if result.interrupted:
        report.metrics = metrics
        return job.interrupted(f"wrote the field as of step {result.steps_done} to {output}")
    if args.report:
        with report.phase("evaluate"):
            views = evaluate(result.field, data, data.split["test"], result.field.background or (0.0, 0.0, 0.0))
        metrics["test_views"] = views
        if views:
            metrics["test_psnr"] = sum(v["psnr"] for v in views) / len(views)
            metrics["test_ssim"] = sum(v["ssim"] for v in views) / len(views)
        curve_png = Path(args.report).with_suffix(".psnr.png")
        plot_psnr_curve(result.curve, curve_png, title=f"held-out PSNR vs fitting time ({output.name})")
        report.outputs.append(str(curve_png))
    report.metrics = metrics
    say_budget(result.budget, args.quiet)
    return 0
