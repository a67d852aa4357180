"""Benchmark of the SVG rasterizer (vector.raster) against cairosvg, and pydiffvg where installed.

For every bundled logo at 256 and 512 px: our forward time, our forward+backward time (gradients for
points, colours, widths), cairosvg's svg2png time for the same file and size (includes PNG encoding), the
ratio ours/cairosvg, and PSNR of our render against cairosvg's (both on white). Then two synthetic scenes:
50 paths × 8 cubics at 256 px (target: fwd+bwd ≤ 0.15 s on 2 cores) and 200 paths × 20 cubics at 512 px
with the process's peak memory (target: < 2 GB). Times are the median of ``--repeat`` runs.

    python benchmarks/bench_vector.py [--threads 1] [--repeat 5]
"""

import argparse
import importlib.util
import io
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.metrics import psnr  # noqa: E402
from vector.raster import render  # noqa: E402
from vector.restyle import render_size  # noqa: E402
from vector.svg import parse_svg  # noqa: E402


def median_time(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cairo_rgb(svg_text, width, height):
    import cairosvg
    from PIL import Image

    png = cairosvg.svg2png(bytestring=svg_text.encode(), output_width=width, output_height=height, background_color="white")
    return torch.from_numpy(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255.0)


def fwd_bwd(scene, width, height):
    params = scene.parameters(("points", "colors", "widths"))
    for p in params:
        p.requires_grad_(True)
        p.grad = None
    image = render(scene, width, height, background=(1.0, 1.0, 1.0))
    (image * image).mean().backward()


def synthetic_svg(paths, segments, size, seed=0):
    """Random star-shaped closed paths of ``segments`` smooth cubics; every third one stroked."""
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(paths):
        cx, cy = (torch.rand(2, generator=g) * size).tolist()
        radius = size * (0.02 + 0.06 * torch.rand(1, generator=g).item())
        pts = []
        for k in range(segments):
            a = 2 * math.pi * k / segments
            r = radius * (0.7 + 0.6 * torch.rand(1, generator=g).item())
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
        mids = [((pts[k][0] + pts[(k + 1) % segments][0]) / 2, (pts[k][1] + pts[(k + 1) % segments][1]) / 2) for k in range(segments)]
        d = f"M{mids[-1][0]:.2f},{mids[-1][1]:.2f}" + "".join(
            f"C{pts[k][0]:.2f},{pts[k][1]:.2f} {pts[k][0]:.2f},{pts[k][1]:.2f} {mids[k][0]:.2f},{mids[k][1]:.2f}" for k in range(segments)) + "Z"
        colour = "#%06x" % int(torch.randint(0, 2**24, (1,), generator=g))
        stroke = ' stroke="#222" stroke-width="2" stroke-linejoin="round"' if i % 3 == 0 else ""
        items.append(f'<path d="{d}" fill="{colour}" fill-opacity="0.85"{stroke}/>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">' + "".join(items) + "</svg>"


def _vm(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1e6  # kB -> GB
    return float("nan")


def peak_memory(threads):
    """(RSS before, peak RSS during) the 200×20 @ 512 fwd+bwd, in GB, in a fresh process (Linux VmHWM reset)."""
    code = ("import sys,torch; torch.set_num_threads(%d); sys.path[:0]=[%r, %r];"
            "from bench_vector import synthetic_svg, fwd_bwd, _vm; from vector.svg import parse_svg;"
            "s=parse_svg(synthetic_svg(200,20,512)); open('/proc/self/clear_refs','w').write('5');"
            "base=_vm('VmRSS'); fwd_bwd(s,512,512); print(base, _vm('VmHWM'))") % (threads, str(ROOT), str(ROOT / "benchmarks"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import cairosvg

    have_diffvg = importlib.util.find_spec("pydiffvg") is not None
    print(f"torch {torch.__version__}, {args.threads} thread(s), pydiffvg {'installed' if have_diffvg else 'not installed'}")
    print(f"{'file':22} {'px':>4} {'shapes':>6} {'fwd ms':>8} {'fwd+bwd ms':>10} {'cairo ms':>9} {'fwd/cairo':>9} {'PSNR dB':>8}"
          + ("  diffvg ms" if have_diffvg else ""))
    for path in sorted((ROOT / "scenes" / "svg").glob("*.svg")):
        text = path.read_text()
        for size in (256, 512):
            scene = parse_svg(text, warn=False)
            width, height = render_size(scene, size)
            with torch.no_grad():
                fwd = median_time(lambda: render(scene, width, height, background=(1.0, 1.0, 1.0)), args.repeat)
                ours = render(scene, width, height, background=(1.0, 1.0, 1.0))[0, :3].permute(1, 2, 0)
            both = median_time(lambda: fwd_bwd(scene, width, height), args.repeat)
            cairo = median_time(lambda: cairosvg.svg2png(bytestring=text.encode(), output_width=width, output_height=height), args.repeat)
            line = (f"{path.name:22} {size:4d} {len(scene.shapes):6d} {fwd * 1e3:8.1f} {both * 1e3:10.1f} {cairo * 1e3:9.1f} "
                    f"{fwd / cairo:9.1f} {psnr(ours, cairo_rgb(text, width, height)):8.1f}")
            if have_diffvg:
                with torch.no_grad():
                    line += f"  {median_time(lambda: render(scene, width, height, backend='diffvg'), args.repeat) * 1e3:9.1f}"
            print(line, flush=True)
    for paths, segments, size in ((50, 8, 256), (200, 20, 512)):
        text = synthetic_svg(paths, segments, size)
        scene = parse_svg(text)
        with torch.no_grad():
            fwd = median_time(lambda: render(scene, size, size, background=(1.0, 1.0, 1.0)), max(1, args.repeat // 2))
            ours = render(scene, size, size, background=(1.0, 1.0, 1.0))[0, :3].permute(1, 2, 0)
        both = median_time(lambda: fwd_bwd(scene, size, size), max(1, args.repeat // 2))
        cairo = median_time(lambda: cairosvg.svg2png(bytestring=text.encode(), output_width=size, output_height=size), args.repeat)
        print(f"{f'synthetic {paths}x{segments}':22} {size:4d} {paths:6d} {fwd * 1e3:8.1f} {both * 1e3:10.1f} {cairo * 1e3:9.1f} "
              f"{fwd / cairo:9.1f} {psnr(ours, cairo_rgb(text, size, size)):8.1f}", flush=True)
    base, peak = peak_memory(args.threads)
    print(f"memory, 200 paths x 20 cubics @ 512 px fwd+bwd (fresh process): peak RSS {peak:.2f} GB, "
          f"RSS before rendering {base:.2f} GB, added by fwd+bwd {peak - base:.2f} GB")


if __name__ == "__main__":
    main()
