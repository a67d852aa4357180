"""Radiance-field fit benchmark: held-out PSNR vs fitting time on the bundled scene's rendered views.

    python benchmarks/bench_field.py [--size 200] [--views 48] [--minutes 10] [--threads 2] [--device cpu]
        [--clock wall|cpu] [--sample-step 1.0] [--transmittance-threshold 0.01]
        [--save FIELD.safetensors]

Renders (once, cached under --data) 48 RGBA views of scenes/splats/sample_scene.ply with the splat renderer
(every 8th held out), fits a field with ``stylize fit``'s code for --minutes of fitting time (``--minutes`` of ``stylize fit``), and prints
the PSNR-vs-time curve of two held-out views (time: wall seconds, or with ``--clock cpu`` this process's
CPU seconds, which with ``--threads 1`` do not depend on what else the machine runs), the final PSNR/SSIM of every held-out view and their mean, the render time per
view, CPU seconds and the machine load (``os.getloadavg``) before and after.
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch

from core.device import resolve_device
from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.datasets.synthetic import write_synthetic_dataset
from stylize3d.fields.fit import FieldFitConfig, evaluate, fit_field
from stylize3d.fields.io import save_field
from stylize3d.fields.plot import plot_psnr_curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--views", type=int, default=48)
    parser.add_argument("--minutes", type=float, default=10.0, help="fitting budget (stylize fit --minutes)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--voxels", type=int, default=128 ** 3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="what --minutes counts: wall seconds or this process's CPU seconds")
    parser.add_argument("--data", type=Path, default=Path("/tmp/stylize_bench_field_data"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/stylize_bench_field"))
    parser.add_argument("--sample-step", type=float, default=FieldFitConfig.sample_step,
                        help="sample spacing in voxels while fitting")
    parser.add_argument("--transmittance-threshold", type=float, default=FieldFitConfig.transmittance_threshold,
                        help="early ray termination while fitting")
    parser.add_argument("--no-random-background", action="store_true", help="fit on the white composites only")
    parser.add_argument("--save", type=Path, default=None, metavar="FIELD.safetensors", help="write the fitted field")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    folder = args.data / f"views{args.views}_{args.size}px"
    if not (folder / "transforms_test.json").is_file():
        write_synthetic_dataset(folder, args.views, args.size)
    data = load_posed_dataset(folder)
    load_before = os.getloadavg()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    config = FieldFitConfig(steps=args.steps, voxels=args.voxels, random_background=not args.no_random_background,
                            sample_step=args.sample_step, transmittance_threshold=args.transmittance_threshold,
                            minutes=args.minutes)
    result = fit_field(data, config, device, eval_every=max(1, args.steps // 15),
                       progress=False, clock=time.process_time if args.clock == "cpu" else time.perf_counter)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    load_after = os.getloadavg()
    scores, times = [], []
    for i in data.split["test"]:
        t = time.perf_counter()
        scores += evaluate(result.field, data, [i], (1.0, 1.0, 1.0))  # render + PSNR/SSIM (a few ms of it)
        times.append(time.perf_counter() - t)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_psnr_curve(result.curve, args.out / "psnr_curve.png", title=f"field fit, {args.size} px, {device}")
    summary = {"device": str(device), "threads": args.threads, "clock": args.clock, "size": args.size, "views": args.views,
               "steps_done": result.steps_done, "fit_seconds": result.seconds, **result.budget, "wall_seconds_with_evals": wall,
               "cpu_seconds": cpu, "load_before": load_before, "load_after": load_after,
               "resolution": result.field.resolution[::-1],
               "test_psnr": sum(s["psnr"] for s in scores) / len(scores),
               "test_ssim": sum(s["ssim"] for s in scores) / len(scores),
               "test_views": [{k: s[k] for k in ("view", "psnr", "ssim")} for s in scores],
               "render_seconds_per_view": sum(times) / len(times), "curve": result.curve}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    if args.save:
        save_field(result.field, args.save)
    print("| fit s | step | held-out PSNR (2 views) |\n|---|---|---|")
    for c in result.curve:
        print(f"| {c['seconds']:.0f} | {c['step']} | {c['psnr']:.2f} |")
    print(json.dumps({k: v for k, v in summary.items() if k != "curve"}, indent=1))


if __name__ == "__main__":
    main()
