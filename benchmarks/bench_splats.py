"""Torch splat renderer on the CPU: forward and forward+backward time and peak memory, plus tile binning
against gsplat's pure-torch reference binning (`gsplat.cuda._torch_impl._isect_tiles`, the only part of gsplat's
rasterizer that runs without CUDA).

    python benchmarks/bench_splats.py [--threads 1] [--repeat 3] [--sizes 256 512] [--counts 10000 100000 300000]

Scene: N random Gaussians in a 2x2x2 cube (std 5-25 mm, random opacities, SH degree 3), seen from 3 units away
with a 50 degree lens; one view. Each configuration runs in a fresh process, so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from random_splats import random_scene

ROOT = Path(__file__).resolve().parents[1]


def measure(n: int, size: int, repeat: int, threads: int) -> dict:
    """Run in a child process: times and peak RSS of one configuration."""
    import torch

    torch.set_num_threads(threads)
    from stylize3d.camera_paths import orbit
    from stylize3d.splats.render import render
    from stylize3d.splats.render.projection import project_gaussians, quat_scale_to_covar
    from stylize3d.splats.render.tiles import bin_gaussians

    scene = random_scene(n)
    cams = orbit(torch.zeros(3), 3.0, 20.0, 1, width=size, height=size, fov_deg=50)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
        render(scene, cams, size, size, backend="torch")
    fwd, fwd_cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        with torch.no_grad():
            render(scene, cams, size, size, backend="torch")
        fwd.append(time.perf_counter() - start)
        fwd_cpu.append(time.process_time() - start_cpu)
    params = scene.map(lambda t: t.clone().requires_grad_())
    weights = torch.rand(1, 3, size, size)
    both, both_cpu = [], []
    for _ in range(repeat + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = render(params, cams, size, size, backend="torch")
        (out.rgb * weights).sum().backward()
        both.append(time.perf_counter() - start)
        both_cpu.append(time.process_time() - start_cpu)
    both, both_cpu = both[1:], both_cpu[1:]  # the first backward pays one-off autograd set-up
    with torch.no_grad():
        covars = quat_scale_to_covar(scene.quats, torch.exp(scene.log_scales))
        proj = project_gaussians(scene.means, covars, cams.viewmats, cams.Ks, size, size,
                                 opacities=torch.sigmoid(scene.opacity_logits))
        start = time.perf_counter()
        bins = bin_gaussians(proj.means2d[0], proj.radii[0], proj.depths[0], size, size, tile=16)
        ours_bin = time.perf_counter() - start
        try:
            from gsplat.cuda._torch_impl import _isect_tiles

            start = time.perf_counter()
            _, _, flatten_ids = _isect_tiles(proj.means2d, proj.radii, proj.depths, 16, -(-size // 16), -(-size // 16))
            ref_bin = time.perf_counter() - start
            same = int(flatten_ids.numel()) == int(bins.gaussian_ids.numel())
        except ImportError:
            ref_bin, same = float("nan"), None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"n": n, "size": size, "fwd_s": statistics.median(fwd), "fwdbwd_s": statistics.median(both),
            "fwd_cpu_s": statistics.median(fwd_cpu), "fwdbwd_cpu_s": statistics.median(both_cpu),
            "intersections_16px": int(bins.gaussian_ids.numel()), "bin_ours_s": ours_bin, "bin_gsplat_s": ref_bin,
            "same_intersections": same, "peak_rss_gb": peak / 2**20, "rss_before_gb": rss_before / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    parser.add_argument("--one", type=int, nargs=2, metavar=("N", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.repeat, args.threads)))
        return
    import torch

    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeat}; one view, SH degree 3")
    print("wall = elapsed seconds; cpu = this process's CPU seconds (less sensitive to other load on the machine)")
    print(f"{'N':>7s} {'px':>4s} {'fwd s':>7s} {'fwd+bwd s':>9s} {'fwd cpu':>7s} {'f+b cpu':>7s} {'isect':>8s} {'bin ours s':>10s} "
          f"{'bin gsplat s':>12s} {'ratio':>6s} {'peak RSS GB':>11s} {'RSS at start':>12s}")
    for n in args.counts:
        for size in args.sizes:
            child = subprocess.run([sys.executable, __file__, "--one", str(n), str(size), "--repeat", str(args.repeat),
                                    "--threads", str(args.threads)], capture_output=True, text=True, cwd=ROOT)
            if child.returncode:
                print(f"{n:7d} {size:4d} failed: {child.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(child.stdout.strip().splitlines()[-1])
            ratio = r["bin_gsplat_s"] / r["bin_ours_s"]
            print(f"{n:7d} {size:4d} {r['fwd_s']:7.2f} {r['fwdbwd_s']:9.2f} {r['fwd_cpu_s']:7.2f} {r['fwdbwd_cpu_s']:7.2f} "
                  f"{r['intersections_16px']:8d} "
                  f"{r['bin_ours_s']:10.3f} {r['bin_gsplat_s']:12.3f} {ratio:6.1f} {r['peak_rss_gb']:11.2f} {r['rss_before_gb']:12.2f}"
                  + ("" if r["same_intersections"] in (True, None) else "  (intersection counts differ!)"))
            sys.stdout.flush()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
