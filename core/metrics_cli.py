"""``stylize metrics``: the style/content/SSIM yardstick of :mod:`core.metrics` as JSON."""

import json

from core.cli import add_command, add_common_options, run_job
from core.commands import COMMANDS
from core.io.images import load_image
from core.metrics import DEFAULT_METRIC_SIZE, content_distance, ssim, style_distance


def register(subparsers) -> None:
    p = add_command(subparsers, "metrics", COMMANDS["metrics"].help,
                    description="Print JSON with style_distance (mean normalised-Gram distance to STYLE over\n"
                                "relu1_1..relu5_1), content_distance (relu4_2 MSE to CONTENT) and ssim (to CONTENT),\n"
                                "all at --size (long side). Definitions: core/metrics.py.")
    p.add_argument("image", metavar="IMAGE", help="the stylized image")
    p.add_argument("--content", required=True, help="the content image it was made from")
    p.add_argument("--style", required=True, help="the style image")
    p.add_argument("--size", type=int, default=DEFAULT_METRIC_SIZE, help="long side used for every measurement")
    add_common_options(p, seed=False)
    p.set_defaults(func=run)


def run(args) -> int:
    return run_job(args, "metrics", _measure)


def _measure(job) -> int:
    args, report, device = job.args, job.report, job.device
    image = load_image(args.image, device=device)
    content = load_image(args.content, device=device)
    style = load_image(args.style, device=device)
    report.inputs = [args.image, args.content, args.style]
    with report.phase("measure"):
        values = {"style_distance": style_distance(image, style, args.size),
                  "content_distance": content_distance(image, content, args.size),
                  "ssim": ssim(image, content, args.size), "size": args.size}
    report.metrics = values
    print(json.dumps(values))
    return 0
