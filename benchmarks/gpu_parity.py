"""GPU parity of the two splat renderers: torch backend vs gsplat.rasterization on one CUDA device.

Run on a CUDA machine:  python benchmarks/gpu_parity.py [--size 256] [--repeats 5]
Prints, per scene (random scenes of several sizes and SH degrees, and the bundled sample scene), the mean
absolute rgb and alpha difference between the backends (target < 1e-3) and the forward time of each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stylize3d.camera_paths import orbit  # noqa: E402
from stylize3d.splats.ply import read_ply  # noqa: E402
from stylize3d.splats.render import render  # noqa: E402
from random_splats import random_scene  # noqa: E402

BUNDLED = Path(__file__).resolve().parents[1] / "scenes" / "splats" / "sample_scene.ply"


def timed(fn, repeats: int):
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    torch.cuda.synchronize()
    return out, (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_parity.py needs a CUDA device (gsplat's rasterizer has no CPU path)")
    scenes = [(f"random {n // 1000}k deg{d}", random_scene(n, d, largest_std=0.035, sh_std=0.4), 3.0) for n, d in [(10_000, 0), (10_000, 3), (100_000, 3)]]
    if BUNDLED.exists():
        bundled = read_ply(BUNDLED)
        lo, hi = bundled.bounds()
        scenes.append(("bundled sample_scene", bundled, float((hi - lo).norm()) * 0.9))
    print(f"device: {torch.cuda.get_device_name()}  size {args.size}x{args.size}, 4 views, background grey")
    print(f"{'scene':24s} {'N':>7s} {'|rgb diff|':>11s} {'|alpha diff|':>12s} {'torch ms':>9s} {'gsplat ms':>9s} {'ratio':>6s}")
    for name, scene, radius in scenes:
        scene = scene.to("cuda")
        centre = scene.means.mean(0).cpu() if "bundled" in name else torch.zeros(3)
        cams = orbit(centre, radius, 25.0, 4, width=args.size, height=args.size)
        kwargs = dict(width=args.size, height=args.size, background=(0.5, 0.5, 0.5))
        with torch.no_grad():
            a, t_torch = timed(lambda: render(scene, cams, backend="torch", **kwargs), args.repeats)
            b, t_gsplat = timed(lambda: render(scene, cams, backend="gsplat", **kwargs), args.repeats)
        rgb = float((a.rgb - b.rgb).abs().mean())
        alpha = float((a.alpha - b.alpha).abs().mean())
        flag = "" if max(rgb, alpha) < 1e-3 else "  ABOVE 1e-3"
        print(f"{name:24s} {scene.num_gaussians:7d} {rgb:11.2e} {alpha:12.2e} {t_torch * 1e3:9.1f} "
              f"{t_gsplat * 1e3:9.1f} {t_torch / t_gsplat:6.1f}{flag}")


if __name__ == "__main__":
    main()
