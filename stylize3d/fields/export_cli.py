"""``stylize export FIELD -o OUT``: a radiance field as a coloured mesh or as 3DGS splats
(:func:`stylize3d.fields.export.export_field`)."""

from __future__ import annotations

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, run_job
from stylize3d.commands import COMMANDS


def register(subparsers) -> None:
    p = add_command(subparsers, "export", COMMANDS["export"].help,
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
    from stylize3d.fields.io import load_field

    refuse_overwriting_inputs(args.output, [args.field])

    def export(job) -> int:
        with job.report.phase("load"):
            field = load_field(args.field, job.device)
        with job.report.phase("export"):
            job.report.sizes = export_field(field, args.output, args.format, args.level, args.min_opacity)
        job.report.inputs, job.report.outputs = [args.field], [args.output]
        return 0

    return run_job(args, "export", export)
