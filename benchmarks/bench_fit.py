"""Fit splats to renders of the bundled scene on the CPU: held-out PSNR against time (issue #13's target: >= 28 dB
within 10 minutes at 200 px on 2 cores).

    python benchmarks/bench_fit.py [--views 48] [--size 200] [--steps 3000] [--minutes 10] [--out /tmp/bench_fit]

Data: stylize3d.datasets.synthetic (48 RGBA views on a hemisphere spiral, every 8th held out), trained on white.
Prints the held-out PSNR/SSIM at each evaluation with wall and CPU seconds and the load average.
"""

import argparse
import json
import os
import resource
import time
from pathlib import Path

import torch

from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.datasets.synthetic import write_synthetic_dataset
from stylize3d.splats.fit import SplatFitConfig, fit_splats


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=48)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--init-points", type=int, default=20000)
    ap.add_argument("--out", default="/tmp/bench_fit")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    if not (out / "transforms_train.json").is_file():
        write_synthetic_dataset(out, views=args.views, size=args.size)
    data = load_posed_dataset(out)
    config = SplatFitConfig(steps=args.steps, test_every=args.eval_every, init_points=args.init_points)
    load0, cpu0, t0 = os.getloadavg()[0], cpu_seconds(), time.perf_counter()
    result = fit_splats(data, config, torch.device("cpu"), progress=True, backend="torch")
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    row = {"views": len(data), "size": data.size, "steps": result.steps_done, "wall_s": round(wall, 1),
           "cpu_s": round(cpu, 1), "load_start": load0, "load_end": os.getloadavg()[0],
           "final": {k: result.metrics.get(k) for k in ("psnr", "ssim", "gaussians")},
           "history": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in h.items()}
                       for h in result.history]}
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
