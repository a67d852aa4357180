"""``stylize paint VIDEO -o painting.mp4``: every frame painted with brush strokes carried along the optical flow
(:mod:`vector.strokes.video`).

The video is staged beside the output and published when the run ends; Ctrl-C (or SIGTERM) publishes the
frames finished so far as a playable video. ``--svg-frames DIR`` also writes each frame's strokes as
``DIR/frame_00001.svg`` ... (each file written atomically as its frame finishes).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from core.atomic import atomic_output, refuse_overwriting_inputs
from core.cli import add_config_options, config_from_args
from core.errors import InputError
from core.video import io as vio
from core.video.cli import _expected_frames
from vector.strokes.presets import PaintStyle
from vector.strokes.svg import svg_text
from vector.strokes.video import VideoPainter, VideoPaintConfig

VIDEO_OUTPUTS = vio.H264_SUFFIXES + (".gif",)


def add_video_options(parser) -> None:
    """The video flags of ``stylize paint``: range, ``--svg-frames`` and :class:`VideoPaintConfig`."""
    g = parser.add_argument_group("video (a video or image-folder input, -o OUT.mp4|.mov|.mkv|.gif)")
    g.add_argument("--svg-frames", default=None, metavar="DIR", help="also write each frame's strokes as DIR/frame_NNNNN.svg")
    g.add_argument("--start", type=float, default=0.0, help="start time in seconds")
    g.add_argument("--end", type=float, default=None, help="end time in seconds")
    g.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    g.add_argument("--fps", type=float, default=float(vio.SEQUENCE_FPS), help="frame rate of an image-folder input")
    add_config_options(g, VideoPaintConfig)


def is_video_output(path: "str | Path") -> bool:
    return Path(path).suffix.lower() in VIDEO_OUTPUTS


def check_video_args(args) -> VideoPaintConfig:
    """Refuse what video painting cannot do, in one line; returns the video config."""
    output = Path(args.output)
    refuse_overwriting_inputs(output, [args.input])
    for flag, value in (("--style", args.style), ("--timelapse", args.timelapse)):
        if value is not None:
            raise InputError(f"{flag} is for still photos; a video input is painted frame by frame without it")
    if args.resume:
        raise InputError("--resume is for --style optimisation; an interrupted video painting keeps its finished "
                         "frames in the output")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames {args.max_frames}: need at least 1")
    if args.svg_frames is not None and Path(args.svg_frames).exists() and not Path(args.svg_frames).is_dir():
        raise InputError(f"--svg-frames {args.svg_frames} is a file; give a folder")
    return config_from_args(VideoPaintConfig, args).validate()


def paint_video(job, style: PaintStyle, config: VideoPaintConfig) -> int:
    """The body of ``stylize paint VIDEO -o OUT.mp4`` (run by :func:`core.cli.run_job`)."""
    args, report = job.args, job.report
    output = Path(args.output)
    with report.phase("load"):
        reader = vio.VideoReader(args.input, start=args.start, end=args.end, max_frames=args.max_frames,
                                 long_side=args.size, sequence_fps=args.fps)
        frames = iter(reader)
        first = next(frames)  # refuses a video without frames before anything is written
    report.inputs = [args.input]
    w, h = reader.size
    painter = VideoPainter(style, config, seed=job.seed)
    svg_dir = Path(args.svg_frames) if args.svg_frames else None
    staged = vio.staged_output(output)
    writer = vio.VideoWriter(staged.tmp, w, h, reader.fps)
    bar = tqdm(total=_expected_frames(reader), unit="frame", desc="painting video",
               disable=not job.progress, dynamic_ncols=True)
    per_frame = []
    interrupted = False
    started = time.perf_counter()
    try:
        for frame in _chain(first, frames):
            result = painter.step(frame)
            painting = result.painting
            if svg_dir is not None:
                with atomic_output(svg_dir / f"frame_{len(per_frame) + 1:05d}.svg") as tmp:
                    tmp.write_text(svg_text(painting.strokes, w, h, painting.radii, painting.background),
                                   encoding="utf-8")
            writer.write(painting.canvas)
            per_frame.append(result)
            bar.set_postfix(strokes=len(painting.strokes), reused=f"{result.reused_fraction:.2f}")
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        writer.close()
        vio.discard(staged)
        raise
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    writer.close()
    if writer.frames_written:
        vio.publish(staged)
    else:
        vio.discard(staged)
    report.outputs = ([str(output)] if writer.frames_written else []) + ([str(svg_dir)] if svg_dir and per_frame else [])
    report.set_steps(len(per_frame), seconds)
    later = per_frame[1:]
    report.sizes.update({"width": w, "height": h, "frames": writer.frames_written, "fps": float(reader.fps),
                         "strokes_per_frame": [len(r.painting.strokes) for r in per_frame]})
    report.metrics.update({
        "mode": "independent" if config.independent else "seeded",
        "reused_per_frame": [r.reused for r in per_frame],
        "new_per_frame": [r.new for r in per_frame],
        "dropped_per_frame": [r.dropped for r in per_frame],
        "reused_fraction_per_frame": [round(r.reused_fraction, 4) for r in per_frame],
        "reused_fraction": statistics.mean(r.reused_fraction for r in later) if later else None,
        "repaint_fraction": statistics.mean(r.repaint_fraction for r in later) if later else None,
        "seconds_per_frame": seconds / len(per_frame) if per_frame else None,
        "seconds_flow": sum(r.flow_s for r in per_frame),
        "interrupted": interrupted})
    if interrupted:
        return job.interrupted(f"wrote the {writer.frames_written} finished frames to {output}" if writer.frames_written
                               else "no frame was finished")
    return 0


def _chain(first: torch.Tensor, rest):
    yield first
    yield from rest

