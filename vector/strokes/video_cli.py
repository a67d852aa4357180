"""``stylize paint VIDEO -o painting.mp4``: every frame painted with brush strokes carried along the optical flow
(:mod:`vector.strokes.video`).

The video is staged beside the output and published when the run ends; Ctrl-C (or SIGTERM) publishes the
frames finished so far as a playable video. Each finished frame is also checkpointed in ``.OUT.frames/``
beside the output (as ``stylize video`` does): the frame as a lossless PNG, and the painter's state after it
(the carried strokes, the previous frame and what the painting stands for, frames done, per-frame numbers) in
``painter.pt``; ``--resume`` re-encodes the finished frames and paints on from there, giving the same video as
an uninterrupted run. The checkpoint is removed after a complete run. ``--svg-frames DIR`` also writes each
frame's strokes as ``DIR/frame_00001.svg`` ... (each file written atomically as its frame finishes).
"""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import torch

from core.atomic import atomic_output, refuse_overwriting_inputs
from core.cli import add_config_options, config_from_args
from core.errors import InputError
from core.io.images import load_image, save_image
from core.video import io as vio
from core.video.frame_loop import FrameLoop, input_meta
from vector.strokes.presets import PaintStyle
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
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames {args.max_frames}: need at least 1")
    if args.svg_frames is not None and Path(args.svg_frames).exists() and not Path(args.svg_frames).is_dir():
        raise InputError(f"--svg-frames {args.svg_frames} is a file; give a folder")
    return config_from_args(VideoPaintConfig, args).validate()


FRAME_NUMBERS = ("strokes", "reused", "new", "dropped", "reused_fraction", "repaint_fraction", "seconds", "flow_s")
"""What the report lists per frame; kept in the checkpoint so a resumed run reports every frame."""


def _job_meta(args, style: PaintStyle, config: VideoPaintConfig, size) -> dict:
    """What a checkpoint must match to be resumed (inputs and every setting that changes a frame)."""
    return {**input_meta(args.input), "size": list(size), "style": repr(style), "config": repr(config), "seed": args.seed,
            **{k: getattr(args, k) for k in ("start", "end", "max_frames", "fps")}}


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
    loop = FrameLoop(output, reader, _job_meta(args, style, config, reader.size), job.resume, desc="painting video",
                     progress=job.progress)
    state_file = loop.checkpoint / "painter.pt"
    pngs = loop.checkpointed
    per_frame: list = []
    if pngs and state_file.exists():
        state = torch.load(state_file, weights_only=True)
        painter.load_state_dict(state["painter"])
        per_frame = state["per_frame"]
    done = painter.frames_done            # a PNG saved after the last state (Ctrl-C between the two) is redone
    if pngs < done:
        raise InputError(f"checkpoint {loop.checkpoint} lacks frames {pngs + 1}..{done}; delete it to start over")
    svg_dir = Path(args.svg_frames) if args.svg_frames else None
    with loop:
        for index, frame in enumerate(itertools.chain([first], frames)):
            saved = loop.frame_path(index)
            if index < done:
                loop.write(load_image(saved))
                continue
            result = painter.step(frame)
            painting = result.painting
            if svg_dir is not None:
                painting.write_svg(svg_dir / f"frame_{index + 1:05d}.svg")
            save_image(painting.canvas, saved)
            per_frame.append({k: len(painting.strokes) if k == "strokes" else getattr(result, k)
                              for k in FRAME_NUMBERS})
            with atomic_output(state_file) as tmp:
                torch.save({"painter": painter.state_dict(), "per_frame": per_frame}, tmp)
            loop.write(painting.canvas, strokes=len(painting.strokes), reused=f"{result.reused_fraction:.2f}")
    frames_written, seconds = loop.frames_written, loop.seconds
    per_frame = per_frame[:frames_written]
    new_frames = max(0, len(per_frame) - done)
    report.outputs = ([str(output)] if frames_written else []) + ([str(svg_dir)] if svg_dir and per_frame else [])
    report.set_steps(new_frames, seconds)
    later = per_frame[1:]
    report.sizes.update({"width": w, "height": h, "frames": frames_written, "fps": float(reader.fps),
                         "strokes_per_frame": [r["strokes"] for r in per_frame]})
    report.metrics.update({
        "mode": "independent" if config.independent else "seeded",
        "frames_resumed": done,
        **{f"{k}_per_frame": [r[k] for r in per_frame] for k in ("reused", "new", "dropped")},
        "reused_fraction_per_frame": [round(r["reused_fraction"], 4) for r in per_frame],
        "reused_fraction": statistics.mean(r["reused_fraction"] for r in later) if later else None,
        "repaint_fraction": statistics.mean(r["repaint_fraction"] for r in later) if later else None,
        "seconds_per_frame": seconds / new_frames if new_frames else None,
        "seconds_flow": sum(r["flow_s"] for r in per_frame[done:]),
        "interrupted": loop.interrupted})
    if loop.interrupted:
        return job.interrupted(f"wrote the {frames_written} finished frames to {output}" if frames_written
                               else "no frame was finished")
    return 0

