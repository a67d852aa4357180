"""``stylize video ... --segments N``: stylize the parts of a video in parallel, then join them.

1. Read the clip once at thumbnail size: frame count and scene cuts (:func:`core.video.segments.scene_cuts`).
2. Plan ``N`` segments with ``--overlap K`` frames (:func:`core.video.segments.plan_segments`).
3. Run each segment as its own ``stylize video`` job — the user's own command line plus ``--start``,
   ``--max-frames`` and a PNG-folder output in ``.OUT.segments/`` — on the batch runners (``--workers`` local
   processes, or ``--ray``), so a segment whose worker dies is retried and resumes from its frame checkpoint.
4. Join the parts (:func:`core.video.segments.join_frames`, hand-overs of ``--seam`` frames) into OUT, staged
   and published at the end (audio copied from the input), and remove ``.OUT.segments/``.

With ``--resume`` the finished segments are kept and unfinished ones continue; without it the parts start over.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.batch.cli import add_runner_options, make_runner
from core.batch.driver import run_batch
from core.batch.jobs import BatchJob
from core.errors import InputError
from core.video import io as vio
from core.video.segments import join_frames, plan_segments, scene_cuts
from core.video.stylize import DEFAULT_LONG_SIDE


DEFAULT_OVERLAP = 4
DEFAULT_SEAM = 20


def add_segment_options(parser) -> None:
    """``--segments N``, ``--overlap K`` and the runner options (``--workers``, ``--ray``, ``--retries``)."""
    parser.add_argument("--segments", type=int, default=1, metavar="N",
                        help="stylize N parts in parallel (split evenly, or at scene cuts nearby) and join them")
    parser.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP, metavar="K",
                        help="--segments: frames stylized by both neighbours at an even split, blended across the seam")
    parser.add_argument("--seam", type=int, default=DEFAULT_SEAM, metavar="T",
                        help="--segments: frames over which one segment's look hands over to the next (at least "
                             "--overlap; past the overlap the earlier look is carried along the optical flow)")
    add_runner_options(parser, workers_help="--segments: local worker processes (default: the core count)")


def segments_dir(output: Path) -> Path:
    """The work folder of a segmented run: ``.NAME.segments`` beside the output."""
    return output.with_name(f".{output.name}.segments")


def _reader(args, long_side=None, max_long_side=DEFAULT_LONG_SIDE) -> vio.VideoReader:
    """The frames the user asked for (``--start``/``--end``/``--max-frames``) at ``long_side`` on the CPU."""
    return vio.VideoReader(args.input, start=args.start, end=args.end, max_frames=args.max_frames,
                           long_side=long_side, max_long_side=max_long_side, device="cpu", sequence_fps=args.fps)


def segment_jobs(args, output: Path, segments: list, fps: float) -> list:
    """One ``stylize video`` :class:`BatchJob` per segment, from the words the user gave (``args._argv``)."""
    words = list(getattr(args, "_argv", None) or [])
    if "video" not in words:
        raise InputError("--segments needs the command line it was given (run it as `stylize video ...`)")
    words = words[words.index("video") + 1:]
    folder = segments_dir(output)
    jobs = []
    for segment in segments:
        start = args.start + segment.first / fps
        part = folder / f"part_{segment.index + 1:03d}"
        overrides = ("--start", repr(start), "--max-frames", str(segment.count), "--segments", "1")
        jobs.append(BatchJob(f"segment {segment.index + 1}/{len(segments)}", "video", tuple(words) + overrides,
                             str(part), f"{part}.json", str(Path.cwd())))
    return jobs


def run_segmented(job, output: Path) -> int:
    """The body of ``stylize video --segments N`` (see the module docstring) for :func:`core.cli.run_job`."""
    args, report = job.args, job.report
    if args.overlap < 0 or args.seam < 0:
        raise InputError(f"--overlap {args.overlap} / --seam {args.seam}: need at least 0")
    with report.phase("plan"):
        total, cuts = scene_cuts(_reader(args, long_side=64, max_long_side=None))
        try:
            segments = plan_segments(total, args.segments, args.overlap, cuts)
        except ValueError as exc:
            raise InputError(f"--segments {args.segments}: {exc}") from None
        probe = _reader(args, long_side=args.size)
        fps = float(probe.fps)
    folder = segments_dir(output)
    if not job.resume:
        shutil.rmtree(folder, ignore_errors=True)
    jobs = segment_jobs(args, output, segments, fps)
    with report.phase("segments"):
        result = run_batch(jobs, make_runner(args, jobs), retries=args.retries, progress=job.progress,
                           desc=f"segments ({len(segments)})")
    report.inputs = [args.input, args.style]
    report.metrics = {"segments": [{"first": s.first, "frames": s.count, "overlap": s.lead} for s in segments],
                      "seam": args.seam,
                      "scene_cuts": cuts, "jobs": [o.to_dict() for o in result.outcomes]}
    if result.interrupted:
        return job.interrupted(f"finished segments are kept in {folder}")
    if result.failed():
        failed = result.failed()[0]
        raise InputError(f"{failed.job.name} failed: {failed.error}")
    with report.phase("join"):
        frames = _write_joined(args, output, segments, jobs, probe)
    shutil.rmtree(folder, ignore_errors=True)
    report.outputs = [str(output)]
    report.sizes = {"output": {"width": probe.size[0], "height": probe.size[1], "frames": frames, "fps": fps}}
    return 0


def _write_joined(args, output: Path, segments: list, jobs: list, probe: vio.VideoReader) -> int:
    parts = [vio.VideoReader(j.path(j.output), sequence_fps=probe.fps) for j in jobs]
    originals = _reader(args, long_side=args.size)
    audio = None if probe.info.is_sequence else probe.info.path
    staged = vio.staged_output(output)
    try:
        with vio.VideoWriter(staged.tmp, *probe.size, probe.fps, audio_from=audio, audio_start=args.start) as writer:
            for frame in join_frames(segments, parts, originals, args.flow, seam=args.seam):
                writer.write(frame)
            frames = writer.frames_written
    except BaseException:
        vio.discard(staged)
        raise
    vio.publish(staged)
    return frames
