"""``stylize export FIELD -o OUT``: a radiance field as a coloured mesh or as 3DGS splats
(:func:`stylize3d.fields.export.export_field`)."""

from __future__ import annotations

import sys

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, run_job
from stylize3d.commands import COMMANDS


def register(subparsers) -> None:
    p = add_command(subparsers, "export", COMMANDS["export"].help,
                    description="Write FIELD (.safetensors from stylize fit or stylize scene) as a coloured "
                                "marching-cubes mesh (vertex colours: the view-independent colour) or as a 3DGS "
                                ".ply with one Gaussian per opaque cell.\n\n"
                                "example: stylize export field.safetensors -o scene.glb")
    p.add_argument("field", metavar="FIELD", help="radiance field file (.safetensors)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output .ply, .glb or .obj")
    p.add_argument("--format", default="mesh", choices=("mesh", "splats"),
                   help="mesh (marching cubes, vertex colours) or splats (3DGS .ply)")
    p.add_argument("--level", type=float, default=None,
                   help="mesh: iso-level of the per-voxel opacity, in (0, 1) (default: picked from the field: the "
                        "median voxel opacity where the rays of --cameras that it covers end, at most 0.9 of each "
                        "ray's peak)")
    p.add_argument("--cameras", metavar="DATA", default=None,
                   help="mesh without --level: the training cameras (transforms.json or a data/run folder; its "
                        "training split) the level is picked from (default: an orbit around the field)")
    p.add_argument("--min-opacity", type=float, default=0.05, help="splats: skip cells less opaque than this")
    add_common_options(p, seed=False)
    p.set_defaults(func=run_export)


def run_export(args) -> int:
    from stylize3d.fields.export import export_field
    from stylize3d.fields.io import load_field

    refuse_overwriting_inputs(args.output, [args.field])

    def export(job) -> int:
        with job.report.phase("load"):
            field = load_field(args.field, job.device)
            cameras = None
            if args.cameras and args.format == "mesh" and args.level is None:
                from stylize3d.datasets.runs import load_camera_source

                cameras = load_camera_source(args.cameras, split="train")[0]
        with job.report.phase("export"):
            job.report.sizes = export_field(field, args.output, args.format, args.level, args.min_opacity, cameras)
        job.report.inputs = [args.field] + ([args.cameras] if cameras is not None else [])
        job.report.outputs = [args.output]
        if "level" in job.report.sizes and args.level is None:
            print(f"export: iso-level {job.report.sizes['level']:.3f} picked from the field "
                  f"({job.report.sizes['vertices']} vertices)", file=sys.stderr)
        return 0

    return run_job(args, "export", export)
