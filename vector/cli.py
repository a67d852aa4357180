"""``stylize svg`` (restyle an SVG after a painting, keeping it editable) and ``stylize svg-render``."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from core.atomic import atomic_output, refuse_overwriting_inputs
from core.cli import EXIT_INTERRUPTED, add_command, add_common_options
from core.device import resolve_device
from core.errors import InputError
from core.io.images import load_image, save_image
from core.optimize import Checkpoint
from core.report import Report
from vector.model import PARAM_KINDS
from vector.raster import render
from vector.restyle import STYLE_LOSSES, RestyleConfig, render_size, restyle_scene
from vector.strokes import cli as strokes_cli
from vector.svg import parse_svg
from vector.writer import svg_text

DEFAULTS = RestyleConfig()


def register(subparsers) -> None:
    p = add_command(subparsers, "svg", "restyle an SVG after a style image; the result stays an editable SVG",
                    description="Optimise the colours, control points, stroke widths and/or opacities of INPUT.svg so its "
                                "rendering takes the style of STYLE_IMAGE. Writes OUT.svg (same elements, ids and groups; "
                                "only optimised attributes change) and OUT.png (OUT.svg rendered by cairosvg).\n\n"
                                "example: stylize svg logo.svg starry_night.jpg -o logo_starry.svg --size 256 --steps 150")
    p.add_argument("input", metavar="INPUT.svg", help="SVG file to restyle")
    p.add_argument("style", metavar="STYLE_IMAGE", help="style image (any common image format)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg", help="output SVG; OUT.png is written beside it")
    p.add_argument("--size", type=int, default=DEFAULTS.size, help="long side of the working render in pixels")
    p.add_argument("--steps", type=int, default=DEFAULTS.steps, help="Adam steps")
    p.add_argument("--optimize", default=",".join(DEFAULTS.optimize),
                   help=f"comma-separated parameters to optimise: {', '.join(PARAM_KINDS)}")
    palette = p.add_mutually_exclusive_group()
    palette.add_argument("--palette", type=int, default=0, metavar="K",
                         help="reduce the result to K colours (k-means over its own colours)")
    palette.add_argument("--palette-from-style", type=int, default=0, metavar="K",
                         help="pull colours towards K colours of the style image (k-means), then snap to them")
    p.add_argument("--style-loss", choices=STYLE_LOSSES, default=DEFAULTS.style_loss, help="style loss from core")
    p.add_argument("--style-weight", type=float, default=DEFAULTS.style_weight, help="weight of the style term")
    p.add_argument("--structure-weight", type=float, default=DEFAULTS.structure_weight,
                   help="weight of the content term against the original render (relu4_2, relative)")
    p.add_argument("--xing-weight", type=float, default=DEFAULTS.xing_weight, help="weight of the Xing loss (looped cubics)")
    p.add_argument("--max-shift", type=float, default=DEFAULTS.max_shift,
                   help="largest control-point shift, as a fraction of the render's diagonal")
    p.add_argument("--crops", type=int, default=DEFAULTS.crops, help="random crops per step for the style loss")
    p.add_argument("--prompt", default=None, help="text prompt for a score-distillation (SDS) term; needs --model")
    p.add_argument("--model", default=None, metavar="PATH", help="local Stable Diffusion folder for --prompt")
    p.add_argument("--sds-weight", type=float, default=1.0, help="weight of the SDS term")
    p.add_argument("--sds-resolution", type=int, default=512, metavar="PX",
                   help="long side the render is resized to for the diffusion model (512 for SD 1.5/2.1-base)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common_options(p)
    p.set_defaults(func=run_restyle)

    r = add_command(subparsers, "svg-render", "render an SVG with the toolkit's differentiable rasterizer",
                    description="example: stylize svg-render logo.svg -o logo.png --size 512")
    r.add_argument("input", metavar="INPUT.svg", help="SVG file")
    r.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output PNG (on white)")
    r.add_argument("--size", type=int, default=512, help="long side of the output in pixels")
    r.add_argument("--backend", choices=("torch", "diffvg"), default="torch", help="rasterizer")
    r.add_argument("--samples", type=int, default=1, help="supersampling factor per axis")
    add_common_options(r, seed=False)
    r.set_defaults(func=run_render)
    strokes_cli.register(subparsers)


def _check_output(path: str, suffix: str, inputs: list) -> Path:
    out = Path(path)
    if out.suffix.lower() != suffix:
        raise InputError(f"output {out} must end in {suffix}")
    refuse_overwriting_inputs(out, inputs)
    return out


def _sds_term(args, device):
    if args.prompt is None and args.model is None:
        return None
    if args.prompt is None or args.model is None:
        raise InputError("--prompt and --model go together (the SDS term needs a text and a local Stable Diffusion folder)")
    from core.priors.sds import SDSLoss

    return SDSLoss(args.model, args.prompt, weight=args.sds_weight, resolution=args.sds_resolution, seed=args.seed,
                   device=device)


def _write_outputs(text: str, svg_path: Path, png_path: Path, aspect: tuple) -> None:
    """Write OUT.svg and OUT.png together: both appear or neither does."""
    import cairosvg

    width, height = aspect
    with atomic_output(svg_path) as tmp_svg, atomic_output(png_path) as tmp_png:
        tmp_svg.write_text(text, encoding="utf-8")
        try:
            cairosvg.svg2png(bytestring=text.encode("utf-8"), write_to=str(tmp_png), output_width=width,
                             output_height=height, background_color="white")
        except Exception as exc:  # cairosvg raises assorted errors on documents it cannot draw
            raise InputError(f"cairosvg could not render the result ({type(exc).__name__}: {exc})") from None


def run_restyle(args) -> int:
    output = _check_output(args.output, ".svg", [args.input, args.style])
    png = output.with_suffix(".png")
    refuse_overwriting_inputs(png, [args.input, args.style])
    config = RestyleConfig(size=args.size, steps=args.steps,
                           optimize=tuple(k.strip() for k in args.optimize.split(",") if k.strip()),
                           style_loss=args.style_loss, style_weight=args.style_weight,
                           structure_weight=args.structure_weight, xing_weight=args.xing_weight,
                           max_shift=args.max_shift, crops=args.crops, palette=args.palette,
                           palette_from_style=args.palette_from_style, seed=args.seed)
    config.validate()
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    report = Report("svg", vars(args))
    report.device = device
    with report.phase("load"):
        scene = parse_svg(args.input, device=device)
        if not scene.shapes:
            what = f" (only unsupported elements: {', '.join(sorted(set(scene.skipped)))})" if scene.skipped else ""
            raise InputError(f"{args.input}: no shapes to restyle{what}")
        style = load_image(args.style, long_side=max(args.size, 64), device=device)
        sds = _sds_term(args, device)
    report.inputs = [args.input, args.style]
    checkpoint = Checkpoint(output.with_name(f".{output.name}.ckpt"), every=25,
                            meta={"input": str(Path(args.input).resolve()), "style": str(Path(args.style).resolve()),
                                  "config": repr(config), "prompt": args.prompt})
    with report.phase("restyle"):
        result = restyle_scene(scene, style, config, extra_loss=sds, checkpoint=checkpoint, resume=args.resume,
                               progress=not args.quiet)
    with report.phase("write"):
        _write_outputs(svg_text(scene), output, png, render_size(scene, args.size))
    report.outputs = [str(output), str(png)]
    report.set_steps(result.optimization.steps_done, result.optimization.seconds)
    report.sizes = {"render": dict(zip(("width", "height"), render_size(scene, args.size))), "shapes": len(scene.shapes)}
    report.metrics = {"style_loss_initial": result.style_loss_initial, "style_loss_final": result.style_loss_final,
                      "structure_loss_final": result.structure_loss_final, "interrupted": result.interrupted,
                      "skipped_elements": scene.skipped,
                      "loss_history": [h["total"] for h in result.optimization.history]}
    report.write(args.report)
    if result.interrupted:
        print(f"stylize svg: interrupted; wrote the result so far to {output} "
              f"(continue with the same command plus --resume)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def run_render(args) -> int:
    output = _check_output(args.output, ".png", [args.input])
    if not 1 <= args.size <= 8192:
        raise InputError(f"--size {args.size} is out of range; use 1..8192")
    if not 1 <= args.samples <= 8:
        raise InputError(f"--samples {args.samples} is out of range; use 1..8")
    device = resolve_device(args.device)
    report = Report("svg-render", vars(args))
    report.device = device
    with report.phase("load"):
        scene = parse_svg(args.input, device=device)
    width, height = render_size(scene, args.size)
    with report.phase("render"), torch.no_grad():
        image = render(scene, width, height, background=(1.0, 1.0, 1.0), samples=args.samples, backend=args.backend)
    with report.phase("write"):
        save_image(image[:, :3], output)
    report.inputs, report.outputs = [args.input], [str(output)]
    report.sizes = {"output": {"width": width, "height": height}, "shapes": len(scene.shapes)}
    report.metrics = {"skipped_elements": scene.skipped}
    report.write(args.report)
    return 0
