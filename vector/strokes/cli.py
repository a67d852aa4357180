"""``stylize paint``: a photo painted with curved brush strokes (Hertzmann 1998), written as an editable SVG.

Writes OUT.svg (one ``<path>`` per stroke, one ``<g id="brush-R">`` per brush, in painting order), OUT.png
(OUT.svg rendered by cairosvg) and, with ``--timelapse``, a video of the strokes being laid down. All outputs
appear together or not at all.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from core.atomic import atomic_output, refuse_overwriting_inputs
from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.errors import InputError
from core.io.images import load_image
from core.losses.objective import StyleLossConfig
from core.metrics import psnr
from core.video.io import VideoWriter
from vector.commands import COMMANDS
from vector.strokes.hertzmann import Painting, paint
from vector.strokes.presets import PRESETS, PaintStyle, paint_style
from vector.strokes.render import composite
from vector.strokes.stylize import STROKE_STYLE_WEIGHT
from vector.strokes.video_cli import add_video_options, check_video_args, is_video_output, paint_video

MAX_SIZE = 4096
TIMELAPSE_SUFFIXES = (".mp4", ".mov", ".mkv", ".gif")
VIDEO_INPUTS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
"""Input suffixes that are always videos (a .gif may be a still photo: it is painted as one with -o OUT.svg)."""


def _radii(text: str) -> tuple:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of radii, e.g. 8,4,2") from None
    return tuple(int(v) if v.is_integer() else v for v in values)


def add_style_options(parser: argparse.ArgumentParser) -> None:
    """``--style-preset`` plus one override flag per :class:`PaintStyle` field (default: the preset's value)."""
    parser.add_argument("--style-preset", choices=sorted(PRESETS), default="impressionist",
                        help="painting style of Hertzmann 1998 (its section 4); the flags below override its values")
    for f in dataclasses.fields(PaintStyle):
        flag = "--" + f.name.replace("_", "-")
        kind = _radii if f.name == "brushes" else type(f.default)
        parser.add_argument(flag, type=kind, default=None, metavar="R,R,..." if f.name == "brushes" else None,
                            help=f.metadata["help"] + " (default: the preset's)")


def style_from_args(args) -> PaintStyle:
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(PaintStyle) if getattr(args, f.name) is not None}
    return paint_style(args.style_preset, **changes)


def register(subparsers) -> None:
    p = add_command(subparsers, "paint", COMMANDS["paint"].help,
                    description="Paint PHOTO in layers of curved brush strokes, largest brush first (Hertzmann, "
                                "\"Painterly Rendering with Curved Brush Strokes of Multiple Sizes\", SIGGRAPH 1998). "
                                "Writes OUT.svg (one <path> per stroke, grouped per brush as <g id=\"brush-R\"> in "
                                "painting order, so a layer can be hidden or recoloured in Inkscape/Illustrator) and "
                                "OUT.png (OUT.svg rendered by cairosvg).\n\n"
                                "A video (or image folder) with -o OUT.mp4|.mov|.mkv|.gif is painted frame by frame, "
                                "each frame's strokes carried from the previous one along the optical flow and "
                                "repainted only where the picture changed or the flow is unreliable, so the "
                                "painting does not boil (Hertzmann and Perlin 2000).\n\n"
                                "example: stylize paint photo.jpg -o painting.svg --style-preset expressionist "
                                "--timelapse painting.mp4\n"
                                "example: stylize paint clip.mp4 -o painting.mp4 --size 256 --svg-frames frames/")
    p.add_argument("input", metavar="PHOTO", help="image to paint (any common image format), or a video / image "
                                                   "folder to paint frame by frame (with -o OUT.mp4)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg",
                   help="output SVG (OUT.png is written beside it); for a video input, OUT.mp4|.mov|.mkv|.gif")
    p.add_argument("--size", type=int, default=512, help="long side of the painting in pixels (the photo is resized)")
    add_style_options(p)
    p.add_argument("--timelapse", default=None, metavar="FILE.mp4|.gif",
                   help="also write a video of the strokes being laid down in painting order")
    p.add_argument("--timelapse-seconds", type=float, default=6.0, help="length of the timelapse (plus 1 s on the result)")
    g = p.add_argument_group("strokes optimised toward a style picture (with --style)")
    g.add_argument("--style", default=None, metavar="STYLE_IMAGE",
                   help="optimise the painted strokes (points, radii, colours, opacities) toward this picture's "
                        "style, keeping the photo's content; the result is still an SVG of strokes")
    g.add_argument("--steps", type=int, default=100, help="optimisation steps (Adam)")
    g.add_argument("--lr", type=float, default=0.02, help="Adam learning rate (points move ~8x lr px per step)")
    g.add_argument("--budget", type=int, default=0, metavar="K",
                   help="optimise only the K most visible strokes (0: all); the others are dropped")
    g.add_argument("--optimize", default="points,radius,colour,opacity", help="stroke parameters to optimise")
    g.add_argument("--width-range", default="0.5,2", help="allowed radius range as factors of each stroke's radius")
    g.add_argument("--max-step", type=float, default=1.5,
                   help="longest control-point step as a factor of the stroke's radius (bounds stroke length)")
    g.add_argument("--xing-weight", type=float, default=0.01, help="weight of the Xing loss against looped strokes")
    add_config_options(p, StyleLossConfig(style_weight=STROKE_STYLE_WEIGHT), group="style objective (with --style)")
    add_video_options(p)
    add_common_options(p, resumable=True)
    p.set_defaults(func=run_paint)


def _check_args(args) -> tuple:
    output = Path(args.output)
    if output.suffix.lower() != ".svg":
        raise InputError(f"output {output} must end in .svg (or .mp4, .mov, .mkv, .gif for a video input)")
    if Path(args.input).is_dir() or Path(args.input).suffix.lower() in VIDEO_INPUTS:
        raise InputError(f"{args.input} is a video; paint it into a video: -o OUT.mp4 (or .mov, .mkv, .gif)")
    png = output.with_suffix(".png")
    outputs = [output, png]
    if args.timelapse is not None:
        if Path(args.timelapse).suffix.lower() not in TIMELAPSE_SUFFIXES:
            raise InputError(f"--timelapse {args.timelapse} must end in {', '.join(TIMELAPSE_SUFFIXES)}")
        if not 0.5 <= args.timelapse_seconds <= 120:
            raise InputError(f"--timelapse-seconds {args.timelapse_seconds} is out of range; use 0.5..120")
        outputs.append(Path(args.timelapse))
    if len({o.resolve() for o in outputs}) < len(outputs):
        raise InputError("the outputs (OUT.svg, OUT.png, --timelapse) must be different files")
    for out in outputs:
        refuse_overwriting_inputs(out, [args.input])
    if not 16 <= args.size <= MAX_SIZE:
        raise InputError(f"--size {args.size} is out of range; use 16..{MAX_SIZE}")
    return output, png


def cairo_png(text: str, width: int, height: int) -> bytes:
    """OUT.svg rendered by cairosvg at ``width`` x ``height`` (PNG bytes)."""
    import cairosvg

    return cairosvg.svg2png(bytestring=text.encode("utf-8"), output_width=width, output_height=height)


def png_to_tensor(data: bytes) -> torch.Tensor:
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)


def timelapse_frames(painting: Painting, height: int, width: int, frames: int, hold: int):
    """``frames`` (3, H, W) images of the strokes laid down in order (equal stroke counts per frame), then the
    result repeated ``hold`` times. Starts from the blank background."""
    strokes = painting.strokes
    canvas = torch.tensor(painting.background)[:, None, None].expand(3, height, width).clone()
    bounds = np.linspace(0, len(strokes), frames + 1).round().astype(int)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi > lo:
            canvas = composite(strokes.select(slice(int(lo), int(hi))), height, width, canvas)
        yield canvas
    for _ in range(hold):
        yield canvas


def write_timelapse(path: Path, painting: Painting, seconds: float, fps: int = 24) -> int:
    """Encode the timelapse into ``path`` (format from its suffix; odd sizes lose their last row/column for
    H.264); returns the frame count."""
    _, h, w = painting.canvas.shape
    even_h, even_w = h - h % 2, w - w % 2
    frames = max(2, round(seconds * fps))
    count = 0
    with VideoWriter(path, even_w, even_h, Fraction(fps)) as writer:
        for frame in timelapse_frames(painting, h, w, frames, hold=fps):
            writer.write(frame[:, :even_h, :even_w])
            count += 1
    return count


def run_paint(args) -> int:
    if args.device not in ("auto", "cpu"):
        raise InputError(f"--device {args.device}: stylize paint runs on the CPU for now (its stroke renderer is "
                         f"tuned and tested there); use --device cpu")
    args.device = "cpu"
    if is_video_output(args.output):
        video = check_video_args(args)
        if not 16 <= args.size <= MAX_SIZE:
            raise InputError(f"--size {args.size} is out of range; use 16..{MAX_SIZE}")
        style = style_from_args(args)
        return run_job(args, "paint", lambda job: paint_video(job, style, video))
    output, png = _check_args(args)
    style = style_from_args(args)
    if args.style is not None:
        config_from_args(StyleLossConfig, args).validate()
    return run_job(args, "paint", lambda job: _paint(job, style, output, png))


def _paint(job, style: PaintStyle, output: Path, png: Path) -> int:
    args, report = job.args, job.report
    with report.phase("load"):
        photo = load_image(args.input, long_side=args.size)
    _, _, h, w = photo.shape
    report.inputs = [args.input]
    with report.phase("paint"), torch.no_grad():
        start = time.process_time()
        painting = paint(photo, style, seed=job.seed)
        paint_cpu = time.process_time() - start
    interrupted = False
    if args.style is not None:
        with report.phase("stylize"):
            painting, interrupted = _stylize_strokes(job, photo, painting, output)
    with report.phase("svg"):
        text = painting.svg_text()
    with report.phase("write"), contextlib.ExitStack() as stack:
        tmp_svg = stack.enter_context(atomic_output(output))
        tmp_png = stack.enter_context(atomic_output(png))
        tmp_svg.write_text(text, encoding="utf-8")
        data = cairo_png(text, w, h)
        tmp_png.write_bytes(data)
        if args.timelapse is not None:
            tmp_video = stack.enter_context(atomic_output(args.timelapse))
            with torch.no_grad():
                frames = write_timelapse(tmp_video, painting, args.timelapse_seconds)
            report.sizes["timelapse_frames"] = frames
    report.outputs = [str(output), str(png)] + ([args.timelapse] if args.timelapse else [])
    report.sizes.update({"width": w, "height": h, "strokes": len(painting.strokes),
                         "strokes_per_layer": dict(zip(map(str, painting.radii), torch.bincount(
                             painting.strokes.layer, minlength=len(painting.radii)).tolist())),
                         "svg_bytes": len(text.encode("utf-8"))})
    report.metrics.update({"style": dataclasses.asdict(style),
                      "error_per_layer": dict(zip(map(str, painting.radii), painting.errors)),
                      "svg_vs_canvas_psnr_db": psnr(png_to_tensor(data), painting.canvas),
                      "paint_cpu_s": paint_cpu})
    if interrupted:
        return job.interrupted(f"wrote the strokes so far to {output}")
    return 0


def _floats(text: str, name: str) -> tuple:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--{name} {text!r} is not a comma-separated list of numbers") from None


def _stylize_strokes(job, photo, painting: Painting, output: Path) -> tuple:
    """Optimise the painting's strokes toward ``--style`` (:func:`vector.strokes.stylize.stylize_strokes`)."""
    from vector.strokes.stylize import StrokeStyleConfig, stylize_strokes

    args, report = job.args, job.report
    refuse_overwriting_inputs(output, [args.style])
    if not 0 <= args.steps <= 100_000:
        raise InputError(f"--steps {args.steps} is out of range; use 0..100000")
    if args.budget < 0:
        raise InputError(f"--budget {args.budget} must be >= 0")
    config = StrokeStyleConfig(optimize=tuple(k.strip() for k in args.optimize.split(",") if k.strip()),
                               width_range=_floats(args.width_range, "width-range"), max_step=args.max_step,
                               xing_weight=args.xing_weight)
    if len(config.width_range) != 2:
        raise InputError(f"--width-range {args.width_range!r} needs two numbers, e.g. 0.5,2")
    config.validate()
    _, _, h, w = photo.shape
    style = load_image(args.style, long_side=max(h, w))
    report.inputs.append(args.style)
    loss = config_from_args(StyleLossConfig, args)
    checkpoint = job.checkpoint(output.with_name(f".{output.name}.ckpt"),
                                meta={"input": str(Path(args.input).resolve()), "style": str(Path(args.style).resolve()),
                                      "size": args.size, "seed": args.seed, "preset": args.style_preset,
                                      "config": repr(config), "budget": args.budget, "objective": repr(loss)})
    result = stylize_strokes(painting, photo, style, steps=args.steps, lr=args.lr, budget=args.budget, config=config,
                             loss=loss, checkpoint=checkpoint, resume=job.resume, progress=job.progress, seed=job.seed)
    optimization = result.stylization.optimization
    report.set_steps(optimization.steps_done, optimization.seconds)
    report.metrics.update({"stylize_initial": result.stylization.initial, "stylize_final": result.stylization.final,
                           "loss_history": [e["total"] for e in optimization.history]})
    return result.painting, result.interrupted
