"""``stylize fit DATA -o OUT --model field``: fit a 3D representation to posed photos.

One command for every representation: ``MODELS`` maps a model name to ``(add_options, run)``; ``add_options``
adds that model's options to the shared parser, ``run(job, data) -> int`` fits and writes OUT
(inside :func:`core.cli.run_job`).
DATA is any folder :func:`stylize3d.datasets.posed.load_posed_dataset` reads (Blender/NeRF-synthetic,
nerfstudio ``transforms.json``, COLMAP).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.errors import InputError
from core.metrics import ssim
from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.splats.fit_cli import add_splat_options, run_splats


# ------------------------------------------------------------------------------------------------ field


def _add_field_options(parser) -> None:
    from stylize3d.fields.fit import FieldFitConfig

    add_config_options(parser, FieldFitConfig, group="--model field")
    parser.add_argument("--eval-every", type=int, default=0, metavar="STEPS",
                        help="--model field: render the first two test views every STEPS steps for the PSNR-vs-time "
                             "curve (0: only at the end)")
    parser.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                        help="--model field: stop fitting after this many seconds (evaluations not counted); the "
                             "coarse-to-fine and learning-rate schedules are spread over them when they run out "
                             "before --steps")


def _run_field(job, data) -> int:
    from stylize3d.fields.fit import FieldFitConfig, fit_field, psnr
    from stylize3d.fields.grid import FIELD_SUFFIX, save_field
    from stylize3d.fields.plot import plot_psnr_curve
    from stylize3d.fields.render import render_field

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
                           progress=job.progress, eval_every=args.eval_every, time_budget=args.time_budget)
    cpu_seconds = time.process_time() - cpu_start
    with report.phase("write"):
        save_field(result.field, output)
    report.outputs = [str(output)]
    report.set_steps(result.steps_done, result.seconds)
    report.sizes = {"resolution": list(result.field.resolution[::-1]), "train_views": len(data.split["train"]),
                    "test_views": len(data.split["test"]), "width": data.size[0], "height": data.size[1]}
    metrics = {"train_psnr": result.train_psnr, "fit_seconds": result.seconds, "cpu_seconds": cpu_seconds,
               "occupied_fraction": float(result.field.occupancy.float().mean()), "interrupted": result.interrupted,
               "curve": result.curve}
    if result.interrupted:
        report.metrics = metrics
        return job.interrupted(f"wrote the field as of step {result.steps_done} to {output}")
    if args.report:
        with report.phase("evaluate"):
            w, h = data.size
            background = result.field.background or (0.0, 0.0, 0.0)
            views = []
            for i in data.split["test"]:
                with torch.no_grad():
                    rgb = render_field(result.field, data.cameras[i], w, h, background).rgb.clamp(0, 1).cpu()
                target = data.images[i:i + 1]
                views.append({"view": i, "file": str(data.paths[i]),
                              "psnr": psnr(float(((rgb - target) ** 2).mean())), "ssim": ssim(rgb, target, size=None)})
        metrics["test_views"] = views
        if views:
            metrics["test_psnr"] = sum(v["psnr"] for v in views) / len(views)
            metrics["test_ssim"] = sum(v["ssim"] for v in views) / len(views)
        curve_png = Path(args.report).with_suffix(".psnr.png")
        plot_psnr_curve(result.curve, curve_png, title=f"held-out PSNR vs fitting time ({output.name})")
        report.outputs.append(str(curve_png))
    report.metrics = metrics
    return 0


MODELS = {"field": (_add_field_options, _run_field), "splats": (add_splat_options, run_splats)}
"""Model name → (add its options to the ``fit`` parser, run it)."""


def register(subparsers) -> None:
    _register_export(subparsers)
    p = add_command(subparsers, "fit", "fit a 3D scene (radiance field or Gaussian splats) to posed photos",
                    description="Fit a representation to the posed images in DATA (Blender/NeRF-synthetic folder "
                                "with transforms_train.json, nerfstudio transforms.json, or COLMAP output with "
                                "sparse/0) and write OUT.\n\nexample: stylize fit data/lego -o lego.safetensors "
                                "--model field --steps 3000 --report fit.json")
    p.add_argument("data", metavar="DATA", help="posed images: a Blender, nerfstudio or COLMAP folder")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output scene file (.safetensors for --model field, .ply for --model splats)")
    p.add_argument("--model", default="field", choices=sorted(MODELS), help="representation to fit")
    p.add_argument("--downscale", type=float, default=1.0, help="divide the image size by this factor")
    p.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints")
    add_common_options(p, resumable=True)
    for add_options, _ in MODELS.values():
        add_options(p)
    p.set_defaults(func=run_fit)


def run_fit(args) -> int:
    refuse_overwriting_inputs(Path(args.output), [args.data])
    return run_job(args, "fit", _fit)


def _fit(job) -> int:
    args, report = job.args, job.report
    with report.phase("load"):
        data = load_posed_dataset(args.data, downscale=args.downscale)
    report.inputs = [str(p) for p in data.paths]
    if not data.split["train"]:
        raise InputError(f"{args.data}: no training views")
    return MODELS[args.model][1](job, data)


def _register_export(subparsers) -> None:
    p = add_command(subparsers, "export", "export a radiance field as a mesh (.ply/.glb/.obj) or 3DGS splats (.ply)",
                    description="Write FIELD (.safetensors from stylize fit or stylize scene) as a coloured "
                                "marching-cubes mesh or as a 3DGS .ply with one Gaussian per opaque cell.\n\n"
                                "example: stylize export field.safetensors -o scene.glb")
    p.add_argument("field", metavar="FIELD", help="radiance field file (.safetensors)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output .ply, .glb or .obj")
    p.add_argument("--format", default="mesh", choices=("mesh", "splats"),
                   help="mesh (marching cubes, vertex colours) or splats (3DGS .ply)")
    p.add_argument("--level", type=float, default=0.5, help="mesh: iso-level of the per-voxel opacity, in (0, 1)")
    p.add_argument("--min-opacity", type=float, default=0.05, help="splats: skip cells less opaque than this")
    add_common_options(p, seed=False)
    p.set_defaults(func=run_export)


def run_export(args) -> int:
    from stylize3d.fields.export import export_field
    from stylize3d.fields.grid import load_field

    refuse_overwriting_inputs(args.output, [args.field])

    def export(job) -> int:
        with job.report.phase("load"):
            field = load_field(args.field, job.device)
        with job.report.phase("export"):
            job.report.sizes = export_field(field, args.output, args.format, args.level, args.min_opacity)
        job.report.inputs, job.report.outputs = [args.field], [args.output]
        return 0

    return run_job(args, "export", export)
