"""``stylize svg`` (restyle an SVG after a painting, keeping it editable) and ``stylize svg-render``."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from core.atomic import atomic_output, refuse_overwriting_inputs
from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.errors import InputError
from core.io.images import save_image
from core.priors.sds_cli import add_sds_options, sds_term
from vector.commands import COMMANDS
from vector.raster import render
from vector.restyle import RestyleConfig, render_size, restyle_scene, style_picture
from vector.svg import parse_svg
from vector.writer import svg_text


def register_svg(subparsers) -> None:
    p = add_command(subparsers, "svg", COMMANDS["svg"].help,
                    description="Optimise the colours, control points, stroke widths and/or opacities of INPUT.svg so its "
                                "rendering takes the style of STYLE_IMAGE. Writes OUT.svg (same elements, ids and groups; "
                                "only optimised attributes change) and OUT.png (OUT.svg rendered by cairosvg).\n\n"
                                "example: stylize svg logo.svg starry_night.jpg -o logo_starry.svg --size 256 --steps 150")
    p.add_argument("input", metavar="INPUT.svg", help="SVG file to restyle")
    p.add_argument("style", metavar="STYLE_IMAGE", help="style image (any common image format)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg", help="output SVG; OUT.png is written beside it")
    add_common_options(p, resumable=True)
    add_config_options(p, RestyleConfig, renamed={"kind": ["--style-loss"], "content_weight": ["--structure-weight"]})
    add_sds_options(p)
    p.set_defaults(func=run_restyle)


def register_render(subparsers) -> None:
    r = add_command(subparsers, "svg-render", COMMANDS["svg-render"].help,
                    description="example: stylize svg-render logo.svg -o logo.png --size 512")
    r.add_argument("input", metavar="INPUT.svg", help="SVG file")
    r.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output PNG (on white)")
    r.add_argument("--size", type=int, default=512, help="long side of the output in pixels")
    r.add_argument("--backend", choices=("torch", "diffvg"), default="torch", help="rasterizer")
    r.add_argument("--samples", type=int, default=1, help="supersampling factor per axis")
    add_common_options(r, seed=False)
    r.set_defaults(func=run_render)


def _check_output(path: str, suffix: str, inputs: list) -> Path:
    out = Path(path)
    if out.suffix.lower() != suffix:
        raise InputError(f"output {out} must end in {suffix}")
    refuse_overwriting_inputs(out, inputs)
    return out


def _write_outputs(text: str, svg_path: Path, png_path: Path, scene, aspect: tuple) -> str:
    """Write OUT.svg and OUT.png together (both appear or neither does); returns the PNG's renderer.

    OUT.png comes from cairosvg, so it shows what other programs show; where cairosvg cannot draw the
    document (it refuses some valid values, e.g. ``opacity="50%"``), our rasterizer draws it, with a warning.
    """
    import cairosvg

    width, height = aspect
    with atomic_output(svg_path) as tmp_svg, atomic_output(png_path) as tmp_png:
        tmp_svg.write_text(text, encoding="utf-8")
        try:
            cairosvg.svg2png(bytestring=text.encode("utf-8"), write_to=str(tmp_png), output_width=width,
                             output_height=height, background_color="white")
            return "cairosvg"
        except Exception as exc:  # cairosvg raises assorted errors on documents it cannot draw
            print(f"stylize svg: warning: cairosvg could not render the result ({type(exc).__name__}); "
                  f"{png_path.name} is drawn by the toolkit's rasterizer", file=sys.stderr)
        with torch.no_grad():
            save_image(render(scene, width, height, background=(1.0, 1.0, 1.0))[:, :3], tmp_png)
        return "toolkit"


def run_restyle(args) -> int:
    output = _check_output(args.output, ".svg", [args.input, args.style])
    png = output.with_suffix(".png")
    refuse_overwriting_inputs(png, [args.input, args.style])
    config = config_from_args(RestyleConfig, args)
    config.validate()
    return run_job(args, "svg", lambda job: _restyle(job, config, output, png))


def _restyle(job, config: RestyleConfig, output: Path, png: Path) -> int:
    args, report = job.args, job.report
    with report.phase("load"):
        scene = parse_svg(args.input, device=job.device)
        if not scene.shapes:
            what = f" (only unsupported elements: {', '.join(sorted(set(scene.skipped)))})" if scene.skipped else ""
            raise InputError(f"{args.input}: no shapes to restyle{what}")
        style = style_picture(args.style, config.size, job.device)
        sds = sds_term(args, job.device)
    report.inputs = [args.input, args.style]
    checkpoint = job.checkpoint(output.with_name(f".{output.name}.ckpt"),
                                meta={"input": str(Path(args.input).resolve()), "style": str(Path(args.style).resolve()),
                                      "config": repr(config), "prompt": args.prompt})
    with report.phase("restyle"):
        result = restyle_scene(scene, style, config, terms=[sds] if sds else (), checkpoint=checkpoint,
                               resume=job.resume, progress=job.progress)
    with report.phase("write"):
        png_renderer = _write_outputs(svg_text(scene), output, png, scene, render_size(scene, config.size))
    report.outputs = [str(output), str(png)]
    report.set_steps(result.optimization.steps_done, result.optimization.seconds)
    report.sizes = {"render": dict(zip(("width", "height"), render_size(scene, config.size))), "shapes": len(scene.shapes)}
    report.metrics = {"initial": result.stylization.initial, "final": result.stylization.final,
                      "style_loss_initial": result.stylization.initial["style"],
                      "style_loss_final": result.stylization.final["style"],
                      "structure_loss_final": result.stylization.final["content"], "interrupted": result.interrupted,
                      "skipped_elements": scene.skipped, "invalid_values": scene.problems,
                      "png_renderer": png_renderer, "loss_history": [h["total"] for h in result.optimization.history]}
    if result.interrupted:
        return job.interrupted(f"wrote the result so far to {output}")
    return 0


def run_render(args) -> int:
    output = _check_output(args.output, ".png", [args.input])
    if not 1 <= args.size <= 8192:
        raise InputError(f"--size {args.size} is out of range; use 1..8192")
    if not 1 <= args.samples <= 8:
        raise InputError(f"--samples {args.samples} is out of range; use 1..8")
    return run_job(args, "svg-render", lambda job: _render(job, output))


def _render(job, output: Path) -> int:
    args, report = job.args, job.report
    with report.phase("load"):
        scene = parse_svg(args.input, device=job.device)
    width, height = render_size(scene, args.size)
    with report.phase("render"), torch.no_grad():
        image = render(scene, width, height, background=(1.0, 1.0, 1.0), samples=args.samples, backend=args.backend)
    with report.phase("write"):
        save_image(image[:, :3], output)
    report.inputs, report.outputs = [args.input], [str(output)]
    report.sizes = {"output": {"width": width, "height": height}, "shapes": len(scene.shapes)}
    report.metrics = {"skipped_elements": scene.skipped, "invalid_values": scene.problems}
    return 0
