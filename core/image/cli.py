"""``stylize image``: stylize a photo with one or more style images (Gatys, feed-forward AdaIN/WCT, StyleID)."""

import importlib
from pathlib import Path

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.commands import COMMANDS
from core.errors import InputError
from core.image.fast_cli import ENGINES
from core.image.fast_config import FastConfig
from core.image.gatys_config import GatysConfig
from core.image.method_names import FEEDFORWARD_METHODS
from core.io.image_files import check_image_output
from core.priors.options import (ATTENTION_METHODS, STYLEID_DEFAULT_STEPS, TOKEN_METHODS, add_instruct_options,
                                 add_styleid_options, add_token_options)

METHODS = ("gatys", "fast", *FEEDFORWARD_METHODS, *ATTENTION_METHODS, *TOKEN_METHODS)
RUNNERS = {"fast": "core.image.fast_cli:run_fast", "instruct": "core.priors.instruct_cli:run_instruct_image",
           **{name: "core.priors.styleid_cli:run_styleid" for name in ATTENTION_METHODS},
           **{name: "core.image.feedforward_cli:run_feedforward" for name in FEEDFORWARD_METHODS},
           **{name: "core.priors.token_cli:run_token_image" for name in TOKEN_METHODS}}
"""``--method`` name (and ``instruct`` for ``--instruct``) → ``"module:runner"``, ``runner(job, output) -> exit
status``, for the methods other than gatys; a runner's module is imported only when its method runs (this module
imports no torch, so ``stylize image --help`` and the torch-free fast path start quickly)."""


def _runner(name: str):
    module, function = RUNNERS[name].split(":")
    return getattr(importlib.import_module(module), function)


def register(subparsers) -> None:
    p = add_command(subparsers, "image", COMMANDS["image"].help,
                    description="Stylize CONTENT with the style of STYLE (several styles blend).\n\n"
                                "example: stylize image photo.jpg starry_night.jpg -o out.png --size 512")
    p.add_argument("content", metavar="CONTENT", help="content photo (any common image format)")
    p.add_argument("styles", metavar="STYLE", nargs="*",
                   help="style image(s); none for --method inst/prospect (--style-token) and --instruct")
    p.add_argument("-o", "--output", required=True, help="output image (.png or .jpg); its folder is created")
    p.add_argument("--method", default="gatys", help=f"stylization method: {', '.join(METHODS)}")
    p.add_argument("--size", type=int, default=512, help="long side of the output in pixels")
    p.add_argument("--steps", type=int, default=None,
                   help=f"gatys: optimisation steps per pyramid level (default {GatysConfig().loop.steps}); "
                        f"fast: L-BFGS steps at {FastConfig().work_size} px (default {FastConfig().steps}); "
                        f"styleid/zstar/inst: DDIM steps (default {STYLEID_DEFAULT_STEPS})")
    p.add_argument("--blend", type=float, nargs="+", metavar="W", default=None,
                   help="one weight per style image (default: equal)")
    p.add_argument("--mask", metavar="MASK_PNG", default=None,
                   help="gatys: grayscale mask, style applies where white, the photo is kept where black; "
                        "adain/wct: one grey level per style (darkest = first style), at the content's pixel size")
    p.add_argument("--decoder", metavar="DECODER.safetensors", default=None,
                   help="adain/wct: decoder weights (default: the shipped decoder)")
    p.add_argument("--alpha", type=float, default=1.0, help="adain/wct: style strength in [0, 1]")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="fast: onnx (ONNX Runtime on the CPU, no torch: about a second in all), torch (any device); "
                        "auto picks onnx on a CPU-only machine when onnxruntime is installed")
    add_common_options(p, resumable=True)
    add_config_options(p, GatysConfig, skip=("steps",))
    add_styleid_options(p)
    add_token_options(p)
    add_instruct_options(p)
    p.set_defaults(func=run)


def _checkpoint_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.ckpt")


def run(args) -> int:
    if args.method not in METHODS:
        raise InputError(f"unknown method {args.method!r}; choose from {', '.join(METHODS)}")
    output = check_image_output(args.output)
    refuse_overwriting_inputs(output, [args.content, *args.styles, args.mask, args.style_token])
    if args.size < 16:
        raise InputError(f"--size {args.size} is too small; use at least 16")
    if args.instruct:
        return run_job(args, "image", lambda job: _runner("instruct")(job, output))
    if not args.styles and args.method not in TOKEN_METHODS:
        raise InputError(f"--method {args.method} needs at least one STYLE image")
    if args.method in RUNNERS:
        return run_job(args, "image", lambda job: _runner(args.method)(job, output))
    steps = {} if args.steps is None else {"steps": args.steps}
    config = config_from_args(GatysConfig, args, **steps)
    config.validate()
    return run_job(args, "image", lambda job: _run_gatys(job, config, output))


def _run_gatys(job, config: GatysConfig, output: Path) -> int:
    from core.image.gatys import stylize_gatys
    from core.io.images import load_image, load_mask, save_image

    args, report = job.args, job.report
    with report.phase("load"):
        content = load_image(args.content, long_side=args.size, device=job.device)
        style_side = max(16, round(args.size * config.loss.style_scale))
        styles = [load_image(path, long_side=style_side, device=job.device) for path in args.styles]
        mask = load_mask(args.mask, content.shape[-2:], job.device) if args.mask else None
    report.inputs = [args.content, *args.styles] + ([args.mask] if args.mask else [])
    checkpoint = job.checkpoint(_checkpoint_path(output), {
        "content": str(Path(args.content).resolve()), "styles": [str(Path(s).resolve()) for s in args.styles],
        "size": list(content.shape[-2:]), "config": repr(config), "blend": args.blend, "mask": args.mask})
    with report.phase("stylize"):
        result = stylize_gatys(content, styles, config, blend=args.blend, mask=mask, checkpoint=checkpoint,
                               resume=job.resume, progress=job.progress)
    with report.phase("write"):
        save_image(result.image, output)
    report.outputs = [str(output)]
    report.set_steps(result.optimization.steps_done, result.optimization.seconds)
    report.sizes = {"output": {"width": content.shape[-1], "height": content.shape[-2]}}
    report.metrics = {"initial": result.stylization.initial, "final": result.stylization.final,
                      "style_loss_initial": result.stylization.initial["style"],
                      "style_loss_final": result.stylization.final["style"],
                      "content_loss_final": result.stylization.final["content"], "interrupted": result.interrupted,
                      "loss_history": [h["total"] for h in result.optimization.history]}
    if result.interrupted:
        return job.interrupted(f"wrote the best result so far to {output}")
    return 0
