"""``stylize capture``: photos or a video → a posed dataset (nerfstudio layout) by structure from motion."""

from __future__ import annotations

import sys

from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from stylize3d.capture.sfm import CaptureConfig, capture
from stylize3d.commands import COMMANDS


def register(subparsers) -> None:
    p = add_command(subparsers, "capture", COMMANDS["capture"].help,
                    description="Pose the pictures of INPUT (a folder of photos, or a video whose sharpest frames "
                                "are picked spread over the clip) with pycolmap structure from motion on the CPU, "
                                "undistort them to pinhole and write DATA in the layout nerfstudio's ns-process-data "
                                "writes: transforms.json, sparse_pc.ply, images/, images_2/, images_4/.\n\n"
                                "example: stylize capture my_photos/ -o data/garden --report capture.json\n"
                                "then:    stylize fit data/garden -o garden.ply --model splats")
    p.add_argument("input", metavar="INPUT", help="folder of photos (jpg/png/...) or a video file")
    p.add_argument("-o", "--output", required=True, metavar="DATA", help="output folder (new or empty)")
    add_config_options(p, CaptureConfig, skip=("seed",))
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_common_options(p)
    p.set_defaults(func=run_capture)


def run_capture(args) -> int:
    config = config_from_args(CaptureConfig, args, seed=args.seed)
    return run_job(args, "capture", lambda job: _capture(job, config))


def _capture(job, config: CaptureConfig) -> int:
    args, report = job.args, job.report
    with report.phase("capture"):
        result = capture(args.input, args.output, config, progress=job.progress)
    report.phases.update({f"{k}_s": v for k, v in result.seconds.items()})
    report.inputs = [args.input]
    report.outputs = [args.output]
    report.sizes = {"images": result.total, "width": result.size[0], "height": result.size[1]}
    report.metrics = {"registered_images": result.registered, "total_images": result.total,
                      "unregistered": result.unregistered, "mean_reprojection_error_px": result.reprojection_error,
                      "points": result.points, "matcher": result.matcher}
    if job.progress:
        print(f"capture: posed {result.registered}/{result.total} pictures, {result.points} points, mean reprojection "
              f"error {result.reprojection_error:.2f} px -> {args.output}", file=sys.stderr)
    return 0
