"""``stylize fit DATA -o OUT --model field``: fit a 3D representation to posed photos.

One command for every representation that can be fitted (:func:`stylize3d.representations.representations`
with a ``fit_help``): each adds its own options to the shared parser (``add_fit_options``) and fits and writes
OUT inside :func:`core.cli.run_job` (``run_fit(job, data) -> int``); those options and runs live beside the fits
(:mod:`stylize3d.fields.fit_cli`, :mod:`stylize3d.splats.fit_cli`). DATA is any folder
:func:`stylize3d.datasets.posed.load_posed_dataset` reads (Blender/NeRF-synthetic, nerfstudio ``transforms.json``,
COLMAP).
"""

from __future__ import annotations

from pathlib import Path

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, run_job
from core.errors import InputError
from stylize3d.commands import COMMANDS
from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.representations import representations


def fittable() -> dict:
    """Name → representation, for the representations ``stylize fit --model`` can fit."""
    return {name: rep for name, rep in representations().items() if rep.fit_help}


def register(subparsers) -> None:
    models = fittable()
    p = add_command(subparsers, "fit", COMMANDS["fit"].help,
                    description="Fit a representation to the posed images in DATA (Blender/NeRF-synthetic folder "
                                "with transforms_train.json, nerfstudio transforms.json, or COLMAP output with "
                                "sparse/0) and write OUT.\n\nexample: stylize fit data/lego -o lego.safetensors "
                                "--model field --steps 3000 --minutes 10 --report fit.json\n\n--minutes (both models) is a "
                                "wall-clock budget: when the steps would take longer, the schedules spread over it "
                                "and end with it; when they finish first, the report's budget_left_s says what was "
                                "left")
    p.add_argument("data", metavar="DATA", help="posed images: a Blender, nerfstudio or COLMAP folder")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output scene file (" + ", ".join(f"{rep.suffix} for --model {name}"
                                                          for name, rep in models.items()) + ")")
    p.add_argument("--model", default="field", choices=sorted(models),
                   help="representation to fit: " + "; ".join(f"{n}: {r.fit_help}" for n, r in models.items()))
    p.add_argument("--downscale", type=float, default=1.0, help="divide the image size by this factor")
    p.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints")
    add_common_options(p, resumable=True)
    for rep in models.values():
        rep.add_fit_options(p)
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
    return fittable()[args.model].run_fit(job, data)
