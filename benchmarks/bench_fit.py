"""Fit splats to renders of the bundled scene on the CPU: held-out PSNR against CPU time (issue #13's target:
>= 28 dB within 10 minutes at 200 px on 2 cores).

    python benchmarks/bench_fit.py [--views 48] [--size 200] [--steps 1500] [--minutes 10] [--sparse-points 5000]
                                   [--eval-every 250] [--threads 2] [--out /tmp/bench_fit]
    python benchmarks/bench_fit.py --from-capture [--views 48] [--capture-size 800] [--size 200] [--background white]
                                   [--save fit.ply]

Data: stylize3d.datasets.synthetic (48 RGBA views on a hemisphere spiral, every 8th held out), trained on white,
initialised from ``sparse_pc.ply``: ``--sparse-points`` noisy surface points of the scene standing in for a
capture's SfM points (0: no point cloud, 20k random points in a cube, the fallback of ``stylize fit``).
With ``--from-capture`` the data is a real capture instead: ``--views`` pictures of the bundled scene rendered on
white at ``--capture-size`` x 3/4 from cameras on a 120-degree arc in two rings (as bench_capture.py renders them),
posed by ``stylize capture`` (pycolmap; run once, cached under ``--out``), then trained at ``--size`` px wide
(``load_posed_dataset(..., downscale)`` as ``stylize fit --downscale`` does) from the capture's ``sparse_pc.ply``,
every 8th view held out, everything in the recovered (COLMAP) frame. ``--background`` is ``stylize fit``'s (auto:
white for the RGBA synthetic data and for the captured pictures, opaque on a white backdrop; black otherwise).
``--save PLY`` writes the fitted Gaussians (the input of ``stylize scene`` in README's walkthrough).

``--minutes`` is ``stylize fit --minutes``: a wall budget over which the schedules spread when ``--steps`` would
take longer (``stylize3d.fit_budget``). Prints one line
per held-out evaluation (step, training wall and CPU seconds without the evaluations, PSNR, SSIM, Gaussians) with
the load average, then a JSON summary.
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch

from core.scenes import scenes_dir
from stylize3d.capture.sfm import read_point_ply
from stylize3d.datasets.posed import load_posed_dataset, load_sparse_points
from stylize3d.datasets.synthetic import write_sparse_points, write_synthetic_dataset
from stylize3d.splats.fit import BACKGROUNDS, SplatFitConfig, fit_splats
from stylize3d.splats.ply import read_ply, write_ply


def prepare(out: Path, views: int, size: int, sparse_points: int) -> tuple:
    """The dataset in ``out`` (rendered when missing) and its sparse points (written when asked and missing)."""
    if not (out / "transforms_train.json").is_file():
        write_synthetic_dataset(out, views=views, size=size)
    cloud = out / f"sparse_pc_{sparse_points}.ply"
    if sparse_points > 0 and not cloud.is_file():
        write_sparse_points(read_ply(scenes_dir() / "splats" / "sample_scene.ply"), cloud, sparse_points)
    points = read_point_ply(cloud) if sparse_points > 0 else None
    return load_posed_dataset(out), points


def prepare_capture(out: Path, views: int, capture_size: int, size: int) -> tuple:
    """Render ``views`` arc views at ``capture_size`` px wide (cached), capture them with pycolmap into
    ``out/capture_<views>_<capture_size>`` (cached) and load that dataset at ``size`` px wide with its sparse points;
    returns ``(dataset, points, capture summary dict)``."""
    from stylize3d.capture.evaluate import write_capture_views
    from stylize3d.capture.sfm import CaptureConfig, capture

    rendered, data = out / f"views_{views}_{capture_size}", out / f"capture_{views}_{capture_size}"
    if not rendered.is_dir():
        write_capture_views(rendered, views, capture_size, capture_size * 3 // 4)
    summary = {"rendered": views}
    if not (data / "transforms.json").is_file():
        cpu0, t0 = time.process_time(), time.perf_counter()
        capture(rendered, data, CaptureConfig(), progress=True)
        summary.update(capture_wall_s=round(time.perf_counter() - t0, 1),
                       capture_cpu_s=round(time.process_time() - cpu0, 1))
    dataset, points = load_posed_dataset(data, downscale=capture_size / size), load_sparse_points(data)
    summary.update(registered=len(dataset), sparse_points=len(points[0]) if points is not None else 0)
    return dataset, points, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=48)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--steps", type=int, default=1500, help="length of the schedules (the run measured in "
                    "BENCHMARKS.md)")
    ap.add_argument("--minutes", type=float, default=10.0, help="wall budget of the training (0: none)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--sparse-points", type=int, default=5000)
    ap.add_argument("--init-points", type=int, default=20000)
    ap.add_argument("--max-sh-degree", type=int, default=SplatFitConfig.max_sh_degree)
    ap.add_argument("--from-capture", action="store_true", help="fit a real capture of rendered views instead")
    ap.add_argument("--capture-size", type=int, default=800, help="--from-capture: width of the captured views")
    ap.add_argument("--background", default=SplatFitConfig.background, choices=BACKGROUNDS)
    ap.add_argument("--save", default=None, metavar="PLY", help="write the fitted Gaussians here")
    ap.add_argument("--out", default="/tmp/bench_fit")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.from_capture:
        data, points, captured = prepare_capture(Path(args.out), args.views, args.capture_size, args.size)
        print("capture:", json.dumps(captured))
    else:
        (data, points), captured = prepare(Path(args.out), args.views, args.size, args.sparse_points), None
    config = SplatFitConfig(steps=args.steps, minutes=args.minutes or None, test_every=args.eval_every,
                            init_points=args.init_points, max_sh_degree=args.max_sh_degree,
                            background=args.background)
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    result = fit_splats(data, config, torch.device("cpu"), points=points, progress=True, backend="torch")
    wall = time.perf_counter() - t0
    if args.save:
        write_ply(result.scene, args.save)
    print(f"{'step':>6} {'train wall s':>12} {'train CPU s':>12} {'PSNR dB':>8} {'SSIM':>7} {'Gaussians':>9} "
          f"{'size':>8}")
    for h in result.history:
        print(f"{h['step']:>6} {h['seconds']:>12.1f} {h['cpu_seconds']:>12.1f} {h['psnr']:>8.2f} {h['ssim']:>7.4f} "
              f"{h['gaussians']:>9} {'x'.join(map(str, h['train_size'])):>8}")
    row = {"capture": captured, "views": len(data), "size": data.size, "background": args.background, "steps": result.steps_done, "threads": args.threads,
           "initial_points": len(points[0]) if points is not None else args.init_points,
           "train_wall_s": round(result.seconds, 1), "train_cpu_s": round(result.metrics["train_cpu_seconds"], 1),
           "wall_s_with_evaluations": round(wall, 1), "load_start": load0, "load_end": os.getloadavg()[0],
           "final": {k: result.metrics.get(k) for k in ("psnr", "ssim", "gaussians")},
           "budget": {k: result.metrics.get(k) for k in ("budget_s", "budget_left_s", "stopped_by",
                                                         "schedule_progress")}}
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
