"""``stylize video`` and ``stylize metrics-video``.

``video`` streams the input through a per-frame stylizer and the consistency module and encodes as it goes.
Every finished frame is also saved (lossless PNG) in a checkpoint folder ``.OUT.frames/`` beside the output;
Ctrl-C finalises a playable video of the frames done so far and keeps the checkpoint, and ``--resume``
continues from it. The checkpoint is removed after a complete run.
"""

import json
from pathlib import Path

import torch.nn.functional as F

from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.commands import COMMANDS
from core.errors import InputError
from core.image.gatys import GatysConfig
from core.io.images import load_image
from core.metrics import DEFAULT_METRIC_SIZE, style_distance
from core.priors.instruct_cli import add_instruct_options, make_instruct_stylizer
from core.priors.video_diffusion_cli import DIFFUSION_METHOD, add_video_diffusion_options, diffusion_meta, \
    diffusion_metrics, make_diffusion_stylizer
from core.video import io as vio
from core.video.consistency import MODES, TemporalSettings
from core.video.flow import FLOW_METHODS
from core.video.frame_loop import input_meta
from core.video.metrics import warping_errors
from core.video.segmented import add_segment_options, run_segmented
from core.video.stylize import DEFAULT_LONG_SIDE, VIDEO_GATYS, check_output, stylize_frames, temporal_settings
from core.video.stylizers import METHODS, default_method, make_frame_stylizer


def register_video(subparsers) -> None:
    p = add_command(subparsers, "video", COMMANDS["video"].help,
                    description="Stylize every frame of INPUT (video file, animated GIF or image folder) with the\n"
                                "style of STYLE_IMAGE; optical flow ties frames together. Output: H.264 .mp4/.mov/.mkv\n"
                                "(audio copied), .gif, or a folder (PNG frames).\n\n"
                                "example: stylize video clip.mp4 starry_night.jpg -o out.mp4 --size 256 --steps 40")
    p.add_argument("input", metavar="INPUT", help="video file, animated GIF or folder of frames")
    p.add_argument("style", metavar="STYLE_IMAGE", nargs="?", default=None, help="style image (none with --instruct)")
    p.add_argument("-o", "--output", required=True, help="output .mp4/.mov/.mkv/.gif, or a folder name without suffix")
    p.add_argument("--method", choices=sorted(METHODS) + [DIFFUSION_METHOD], default=None,
                   help="per-frame stylizer (default: fast with --consistency blend, else gatys); diffusion: the "
                        "video diffusion prior (keyframes edited jointly, propagated between; needs --model)")
    p.add_argument("--decoder", default=None, metavar="FILE.safetensors",
                   help="adain/wct: decoder weights (default: the one shipped in core/nn/weights)")
    p.add_argument("--alpha", type=float, default=1.0, help="adain/wct: style strength in [0, 1]")
    p.add_argument("--consistency", choices=MODES, default="optimize",
                   help="none: frames independently; optimize: temporal loss + warped init; blend: fuse with the "
                        "warped previous output")
    p.add_argument("--temporal-weight", type=float, default=1e3,
                   help="weight of the temporal loss (pixel differences in 0-255 units, as Ruder et al.)")
    p.add_argument("--blend-strength", type=float, default=0.7, help="blend mode: 0 = per-frame, 1 = copy the warped previous output")
    p.add_argument("--refine-steps", type=int, default=0, help="blend mode: optimisation steps with the temporal loss after fusing")
    p.add_argument("--flow", choices=FLOW_METHODS, default="dis", help="optical flow method (OpenCV)")
    p.add_argument("--size", type=int, default=None,
                   help=f"long side of the output in pixels (default: the source size, at most {DEFAULT_LONG_SIDE})")
    p.add_argument("--first-steps", type=int, default=None, help="steps for the first frame (default: 2 x --steps)")
    p.add_argument("--start", type=float, default=0.0, help="start time in seconds")
    p.add_argument("--end", type=float, default=None, help="end time in seconds")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--fps", type=float, default=float(vio.SEQUENCE_FPS), help="frame rate of an image-folder INPUT")
    add_common_options(p, resumable=True)
    add_config_options(p, VIDEO_GATYS, group="gatys per-frame objective (--steps also sets fast/adain/wct refinement steps)")
    add_instruct_options(p, standalone=True, video=True)
    add_video_diffusion_options(p)
    add_segment_options(p)
    p.set_defaults(func=run_video)


def register_metrics_video(subparsers) -> None:
    m = add_command(subparsers, "metrics-video", COMMANDS["metrics-video"].help,
                    description="Print JSON: for each range k, the mean masked warping error (MSE in [0,1] units over\n"
                                "pixels passing the forward-backward flow check, flow computed on ORIGINAL) between\n"
                                "stylized frames t and t+k; with --style, the mean style distance of the stylized\n"
                                "frames (core.metrics). Definitions: core/video/metrics.py.")
    m.add_argument("original", metavar="ORIGINAL", help="the source video (or image folder)")
    m.add_argument("stylized", metavar="STYLIZED", help="the stylized video (or image folder)")
    m.add_argument("--range", dest="ranges", default="1,10", help="comma-separated frame ranges k")
    m.add_argument("--style", default=None, help="style image: also report the mean style distance")
    m.add_argument("--start", type=float, default=0.0, help="start time of ORIGINAL that STYLIZED begins at (seconds)")
    m.add_argument("--max-frames", type=int, default=None, help="compare at most this many frames")
    m.add_argument("--flow", choices=FLOW_METHODS, default="dis", help="optical flow method (OpenCV)")
    add_common_options(m, seed=False)
    m.set_defaults(func=run_metrics)


def _job_meta(args, size) -> dict:
    keys = ("style", "method", "decoder", "alpha", "consistency", "temporal_weight", "blend_strength", "refine_steps", "flow",
            "first_steps", "start", "end", "max_frames", "fps", "seed")
    meta = {k: getattr(args, k) for k in keys}
    meta["gatys"] = repr(config_from_args(VIDEO_GATYS, args))
    meta.update(**input_meta(args.input), style=str(Path(args.style).resolve()) if args.style else None, size=list(size),
                instruct=[args.instruct, args.model, args.image_guidance, args.guidance, args.instruct_steps,
                          args.keyframe_every], diffusion=diffusion_meta(args))
    return meta


def run_video(args) -> int:
    output = check_output(args.output, [args.input, args.style])
    args.method = args.method or default_method(args.consistency)
    settings = temporal_settings(args.consistency, args.steps, args.first_steps, args.temporal_weight,
                                 args.blend_strength, args.refine_steps)
    gatys = config_from_args(VIDEO_GATYS, args)
    gatys.validate()
    if not 0.0 <= args.alpha <= 1.0:
        raise InputError(f"--alpha {args.alpha} must be in [0, 1]")
    if args.segments != 1:
        return run_job(args, "video", lambda job: run_segmented(job, output))
    return run_job(args, "video", lambda job: _stylize_video(job, settings, gatys, output))


def _stylize_video(job, settings: TemporalSettings, gatys: GatysConfig, output: Path) -> int:
    args, report, device = job.args, job.report, job.device

    def open_reader():
        return vio.VideoReader(args.input, start=args.start, end=args.end, max_frames=args.max_frames,
                               long_side=args.size, max_long_side=DEFAULT_LONG_SIDE, device=device,
                               sequence_fps=args.fps)

    with report.phase("load"):
        reader = open_reader()
        if not args.style and not args.instruct:
            raise InputError("give a STYLE_IMAGE, or --instruct TEXT with --model IP2P_FOLDER")
        style = load_image(args.style, long_side=max(reader.size), device=device) if args.style else None
    report.inputs = [args.input, args.style]
    diffusion = None
    if args.method == DIFFUSION_METHOD:
        stylizer, diffusion = make_diffusion_stylizer(args, style, device, open_reader)
    elif args.instruct:
        stylizer = make_instruct_stylizer(args, device)
    else:
        stylizer = make_frame_stylizer(args.method, [style], {"gatys": gatys, "decoder": args.decoder,
                                                              "alpha": args.alpha})
    result = stylize_frames(reader, stylizer, settings, output, _job_meta(args, reader.size), flow=args.flow,
                            resume=job.resume, progress=job.progress,
                            started=stylizer.start if diffusion else None)
    report.outputs = [str(output)] if result.frames else []
    report.set_steps(result.frames_stylized, result.seconds)
    report.sizes = {"output": {"width": result.width, "height": result.height, "frames": result.frames,
                               "fps": float(result.fps)}}
    report.metrics = {"consistency": args.consistency, **result.metrics(),
                      **(diffusion_metrics(diffusion, device) if diffusion else {})}
    if result.interrupted:
        return job.interrupted(f"wrote the {result.frames} finished frames to {output}" if result.frames
                               else "no frame was finished")
    return 0


def _parse_ranges(text: str) -> list:
    try:
        ranges = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise InputError(f"--range {text!r}: expected comma-separated whole numbers, e.g. 1,10") from None
    if not ranges or ranges[0] < 1:
        raise InputError(f"--range {text!r}: ranges must be at least 1")
    return ranges


def run_metrics(args) -> int:
    ranges = _parse_ranges(args.ranges)
    return run_job(args, "metrics-video", lambda job: _measure(job, ranges))


def _measure(job, ranges: list) -> int:
    args, report, device = job.args, job.report, job.device
    stylized = vio.VideoReader(args.stylized, max_frames=args.max_frames, device=device)
    width, height = stylized.size
    original = vio.VideoReader(args.original, start=args.start, long_side=max(width, height), device=device)
    style = load_image(args.style, device=device) if args.style else None
    report.inputs = [args.original, args.stylized] + ([args.style] if args.style else [])
    distances, count = [], 0

    def originals():
        for frame in original:
            yield frame if frame.shape[-2:] == (height, width) else F.interpolate(frame, size=(height, width), mode="area")

    def stylized_frames():
        nonlocal count
        for frame in stylized:
            count += 1
            if style is not None:
                distances.append(style_distance(frame, style, DEFAULT_METRIC_SIZE))
            yield frame

    with report.phase("measure"):
        errors = warping_errors(originals(), stylized_frames(), ranges, args.flow)
    values = {"warping_error": {str(k): v for k, v in errors.items()}, "frames": count,
              "size": [width, height],
              "style_distance": (sum(distances) / len(distances)) if distances else None}
    report.metrics = values
    print(json.dumps(values))
    return 0
