"""``stylize image``: stylize a photo with one or more style images."""

import sys
from pathlib import Path

from core.atomic import refuse_overwriting_inputs
from core.cli import EXIT_INTERRUPTED, add_command, add_common_options
from core.device import resolve_device
from core.errors import InputError
from core.image.feedforward_cli import FEEDFORWARD_METHODS, run_feedforward
from core.image.gatys import INITS, GatysConfig, stylize_gatys
from core.io.images import load_image, load_mask, save_image
from core.optimize import OPTIMIZERS, Checkpoint
from core.priors.styleid_cli import ATTENTION_METHODS, STYLEID_DEFAULT_STEPS, add_styleid_options, run_styleid
from core.priors.instruct_cli import add_instruct_options, run_instruct_image
from core.priors.token_cli import TOKEN_METHODS, add_token_options, run_token_image
from core.report import Report

METHODS = ("gatys", *FEEDFORWARD_METHODS, *ATTENTION_METHODS, *TOKEN_METHODS)
GATYS_DEFAULT_STEPS = 300
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def register(subparsers) -> None:
    p = add_command(subparsers, "image", "stylize an image with one or more style images",
                    description="Stylize CONTENT with the style of STYLE (several styles blend).\n\n"
                                "example: stylize image photo.jpg starry_night.jpg -o out.png --size 512")
    p.add_argument("content", metavar="CONTENT", help="content photo (any common image format)")
    p.add_argument("styles", metavar="STYLE", nargs="*",
                   help="style image(s); none for --method inst/prospect (--style-token) and --instruct")
    p.add_argument("-o", "--output", required=True, help="output image (.png or .jpg); its folder is created")
    p.add_argument("--method", default="gatys", help=f"stylization method: {', '.join(METHODS)}")
    p.add_argument("--size", type=int, default=512, help="long side of the output in pixels")
    p.add_argument("--steps", type=int, default=None,
                   help=f"gatys: optimisation steps per pyramid level (default {GATYS_DEFAULT_STEPS}); "
                        f"styleid: DDIM steps (default {STYLEID_DEFAULT_STEPS})")
    p.add_argument("--style-weight", type=float, default=GatysConfig.style_weight,
                   help="weight of the style term (relative Gram error, mean over relu1_1..relu5_1)")
    p.add_argument("--content-weight", type=float, default=GatysConfig.content_weight,
                   help="weight of the content term (relative relu4_2 feature error)")
    p.add_argument("--tv-weight", type=float, default=GatysConfig.tv_weight, help="total-variation smoothing weight")
    p.add_argument("--blend", type=float, nargs="+", metavar="W", default=None,
                   help="one weight per style image (default: equal)")
    p.add_argument("--preserve-color", action="store_true", help="keep the content's colours (luminance-only transfer)")
    p.add_argument("--mask", metavar="MASK_PNG", default=None,
                   help="gatys: grayscale mask, style applies where white, the photo is kept where black; "
                        "adain/wct: one grey level per style (darkest = first style), at the content's pixel size")
    p.add_argument("--decoder", metavar="DECODER.safetensors", default=None,
                   help="adain/wct: decoder weights (default: the shipped decoder)")
    p.add_argument("--alpha", type=float, default=1.0, help="adain/wct: style strength in [0, 1]")
    p.add_argument("--style-scale", type=float, default=1.0,
                   help="size of the style image relative to the output (smaller = finer brush strokes)")
    p.add_argument("--init", choices=INITS, default="content", help="starting image")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs", help="optimiser")
    p.add_argument("--levels", type=int, default=1, help="image-pyramid levels, coarse to fine")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_styleid_options(p)
    add_token_options(p)
    add_instruct_options(p)
    add_common_options(p)
    p.set_defaults(func=run)


def _checkpoint_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.ckpt")


def run(args) -> int:
    if args.method not in METHODS:
        raise InputError(f"unknown method {args.method!r}; choose from {', '.join(METHODS)}")
    output = Path(args.output)
    if output.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"output {output} must end in one of {', '.join(IMAGE_SUFFIXES)}")
    refuse_overwriting_inputs(output, [args.content, *args.styles, args.mask, args.style_token])
    if args.size < 16:
        raise InputError(f"--size {args.size} is too small; use at least 16")
    if args.instruct:
        return run_instruct_image(args, output)
    if args.method in TOKEN_METHODS:
        return run_token_image(args, output)
    if not args.styles:
        raise InputError(f"--method {args.method} needs at least one STYLE image")
    if args.method in FEEDFORWARD_METHODS:
        return run_feedforward(args, output)
    if args.method in ATTENTION_METHODS:
        return run_styleid(args, output)
    steps = GATYS_DEFAULT_STEPS if args.steps is None else args.steps
    config = GatysConfig(steps=steps, style_weight=args.style_weight, content_weight=args.content_weight,
                         tv_weight=args.tv_weight, optimizer=args.optimizer, init=args.init, levels=args.levels,
                         style_scale=args.style_scale, preserve_color=args.preserve_color, seed=args.seed)
    config.validate()
    device = resolve_device(args.device)
    report = Report("image", vars(args))
    report.device = device
    with report.phase("load"):
        content = load_image(args.content, long_side=args.size, device=device)
        style_side = max(16, round(args.size * args.style_scale))
        styles = [load_image(path, long_side=style_side, device=device) for path in args.styles]
        mask = load_mask(args.mask, content.shape[-2:], device) if args.mask else None
    report.inputs = [args.content, *args.styles] + ([args.mask] if args.mask else [])
    checkpoint = Checkpoint(_checkpoint_path(output), every=25,
                            meta={"content": str(Path(args.content).resolve()),
                                  "styles": [str(Path(s).resolve()) for s in args.styles],
                                  "size": list(content.shape[-2:]), "config": repr(config), "blend": args.blend,
                                  "mask": args.mask})
    with report.phase("stylize"):
        result = stylize_gatys(content, styles, config, blend=args.blend, mask=mask, checkpoint=checkpoint,
                               resume=args.resume, progress=not args.quiet)
    with report.phase("write"):
        save_image(result.image, output)
    report.outputs = [str(output)]
    report.set_steps(result.optimization.steps_done, result.optimization.seconds)
    report.sizes = {"output": {"width": content.shape[-1], "height": content.shape[-2]}}
    report.metrics = {"style_loss_initial": result.style_loss_initial, "style_loss_final": result.style_loss_final,
                      "content_loss_final": result.content_loss_final, "interrupted": result.interrupted,
                      "loss_history": [h["total"] for h in result.optimization.history]}
    report.write(args.report)
    if result.interrupted:
        print(f"stylize image: interrupted; wrote the best result so far to {output} "
              f"(continue with the same command plus --resume)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
