"""Scale-out benchmark (issue 28): ``stylize batch`` runners, and a long clip in parallel segments.

Part 1 — 8 small ``stylize image`` jobs (bundled photos x paintings, ``--size``/``--steps``), one thread each
(``num_cpus: 1``), run three ways: sequentially (one local worker), on ``--workers`` local workers, and as Ray
tasks on a private local Ray instance with as many CPUs. Printed: wall time, jobs per minute, speed-up over
sequential, mean seconds per attempt (the subprocess) and inside the command (its report's ``total_s``); the
difference is the per-job overhead of a fresh process (interpreter, imports, VGG load). Every job's output
is checked afterwards (none lost).

Part 2 — the bundled 96-frame clip: ``stylize video`` sequentially vs ``--segments 4`` (workers as above):
the default join, a cross-fade over the overlap only (``--seam 4``), and ``--overlap 0`` (a hard cut). Outputs
are PNG folders (lossless). Printed: wall time, and the k=1 masked warping error (:func:`core.video.metrics.pair_warping_error`,
flow on the originals) averaged over the pairs *at the seams* (from the frame before each hand-over to the first
frame after it: ``--seam`` frames, or the overlap, or the one pair of a hard cut) and over all other pairs
(*inside*), and their ratio. Target: seam <= 1.5x inside.

    .venv/bin/python benchmarks/bench_batch.py --size 64 --steps 10 --video-size 96 --video-steps 4
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.batch.driver import run_batch  # noqa: E402
from core.batch.jobs import load_jobs  # noqa: E402
from core.batch.runners import LocalRunner, RayRunner  # noqa: E402
from core.scenes import scenes_dir  # noqa: E402
from core.video.io import VideoReader  # noqa: E402
from core.video.metrics import pair_warping_error  # noqa: E402
from core.video.segments import Segment, handover_length  # noqa: E402

PHOTOS = ("cat.png", "parrots.png", "rocket.jpg", "stone_house.png")
PAINTINGS = ("starry_night.jpg", "great_wave.jpg")


def image_jobs(folder: Path, size: int, steps: int) -> Path:
    images = scenes_dir() / "images"
    jobs = [{"command": "image", "args": [str(images / photo), str(images / painting)],
             "options": {"size": size, "steps": steps, "quiet": True},
             "output": f"out/{Path(photo).stem}_{Path(painting).stem}.png"}
            for photo in PHOTOS for painting in PAINTINGS]
    path = folder / "jobs.json"
    path.write_text(json.dumps({"jobs": jobs}))
    return path


def run_images(path: Path, runner) -> dict:
    jobs = load_jobs(path)
    started = time.perf_counter()
    result = run_batch(jobs, runner, retries=0, progress=False, rerun=True)
    wall = time.perf_counter() - started
    inside = [json.loads(o.job.path(o.job.report).read_text())["timings"]["total_s"] for o in result.outcomes
              if o.status == "done"]
    present = sum(o.job.path(o.job.output).is_file() for o in result.outcomes)
    return {"wall": wall, "done": result.counts().get("done", 0), "present": present, "jobs": len(jobs),
            "attempt": sum(o.seconds for o in result.outcomes) / len(jobs), "inside": sum(inside) / max(1, len(inside))}


def stylize_video(clip: str, style: str, output: Path, args, extra: list) -> float:
    command = [sys.executable, "-m", "core.cli", "video", clip, style, "-o", str(output), "--size", str(args.video_size),
               "--steps", str(args.video_steps), "--max-frames", str(args.frames), "--quiet",
               "--consistency", args.consistency,
               "--report", f"{output}.json", *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1")  # the same one thread per process as every segment gets
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - started


def pair_errors(clip: str, stylized: Path, size: int, frames: int) -> list:
    originals = list(VideoReader(clip, long_side=size, max_frames=frames))
    outputs = list(VideoReader(stylized))
    return [pair_warping_error(originals[t], originals[t + 1], outputs[t], outputs[t + 1])
            for t in range(len(outputs) - 1)]


def seam_pairs(report: Path) -> set:
    """Pairs (t, t+1), by t, from the frame before each hand-over to the first frame after it."""
    metrics = json.loads(report.read_text())["metrics"]
    segments = [Segment(i, s["first"], s["frames"], s["overlap"]) for i, s in enumerate(metrics["segments"])]
    pairs = set()
    for segment in segments[1:]:
        pairs.update(range(segment.first - 1, segment.first + handover_length(segments, segment.index, metrics["seam"])))
    return pairs


def mean(values) -> float:
    values = [v for v in values if v == v]
    return sum(values) / len(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="image jobs: long side")
    parser.add_argument("--steps", type=int, default=10, help="image jobs: Gatys steps")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clip", default=str(scenes_dir() / "video" / "bbb_clip.mp4"))
    parser.add_argument("--style", default=str(scenes_dir() / "images" / "starry_night.jpg"))
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--video-size", type=int, default=96)
    parser.add_argument("--video-steps", type=int, default=4)
    parser.add_argument("--consistency", default="optimize", help="stylize video --consistency of every video run")
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--skip-video", action="store_true")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average; {os.cpu_count()} cores)")
    work = Path(tempfile.mkdtemp(prefix="bench_batch_"))

    if not args.skip_images:
        path = image_jobs(work, args.size, args.steps)
        rows = [("sequential (1 worker)", run_images(path, LocalRunner(1))),
                (f"local workers ({args.workers})", run_images(path, LocalRunner(args.workers)))]
        started = time.perf_counter()
        ray_runner = RayRunner("local", num_cpus=args.workers)
        ray_init = time.perf_counter() - started
        rows.append((f"Ray local ({args.workers} CPUs)", run_images(path, ray_runner)))
        base = rows[0][1]["wall"]
        print(f"\n8 image jobs, --size {args.size} --steps {args.steps}, 1 thread per job (Ray start-up "
              f"{ray_init:.1f} s, not in the wall time)\n")
        print("| runner | wall s | jobs/min | speed-up | s/attempt | s in command | overhead s/job | outputs |")
        print("|---|---|---|---|---|---|---|---|")
        for name, row in rows:
            print(f"| {name} | {row['wall']:.1f} | {60 * row['jobs'] / row['wall']:.1f} | {base / row['wall']:.2f}x | "
                  f"{row['attempt']:.1f} | {row['inside']:.1f} | {row['attempt'] - row['inside']:.1f} | "
                  f"{row['present']}/{row['jobs']} |")

    if not args.skip_video:
        split = ["--segments", str(args.segments), "--workers", str(args.workers)]
        runs = [("sequential", []),
                (f"{args.segments} segments, overlap 4, seam 20 (default)", split),
                (f"{args.segments} segments, overlap 4, seam 4 (cross-fade only)", split + ["--seam", "4"]),
                (f"{args.segments} segments, overlap 0 (hard cut)", split + ["--overlap", "0"])]
        print(f"\n{args.frames}-frame clip, --size {args.video_size} --steps {args.video_steps} (--consistency {args.consistency})\n")
        print("| run | wall s | speed-up | k=1 error inside | k=1 error at seams | seam / inside | frames |")
        print("|---|---|---|---|---|---|---|")
        base = None
        for n, (name, extra) in enumerate(runs):
            output = work / f"video_{n}"
            wall = stylize_video(args.clip, args.style, output, args, extra)
            base = base or wall
            errors = pair_errors(args.clip, output, args.video_size, args.frames)
            seams = seam_pairs(Path(f"{output}.json")) if extra else set()
            inside = mean(e for t, e in enumerate(errors) if t not in seams)
            seam = mean(e for t, e in enumerate(errors) if t in seams) if seams else float("nan")
            print(f"| {name} | {wall:.1f} | {base / wall:.2f}x | {inside:.5f} | {seam:.5f} | {seam / inside:.2f} | "
                  f"{len(errors) + 1} |")
    print(f"\nload after: {os.getloadavg()[0]:.2f}; work folder {work}")


if __name__ == "__main__":
    main()
