"""Benchmark of the brush-stroke painter (vector.strokes).

1. Hertzmann placement, Impressionist, on the bundled stone_house photo at 512 px (target: < 5 s on 2 cores):
   wall and CPU seconds, strokes per layer.
2. The SVG writer on those strokes and on a many-stroke preset (target: tens of thousands in well under 1 s).
3. The differentiable stroke renderer: 2,000 strokes at 256 px, forward and forward+backward (gradients for
   points, radii, colours, opacities; target: fwd+bwd <= 0.5 s on 2 cores), and PSNR of its render against
   cairosvg's rendering of the same SVG.
4. With ``--video N``: the first N frames of the bundled clip painted with strokes carried along the flow and
   painted independently (same preset and seed), flicker measured as ``stylize metrics-video`` does (masked
   warping error, ranges 1 and 10), fidelity (mean |painting - frame| in [0, 1]: low flicker must not come from a
   painting that stops following the video), strokes reused per frame, CPU seconds per frame.

Times are medians of ``--repeat`` runs; the load average is printed beside them (the machine may be shared).

    python benchmarks/bench_paint.py [--threads 2] [--repeat 3] [--video 24 --video-size 256]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.io.images import load_image  # noqa: E402
from core.metrics import psnr  # noqa: E402
from vector.strokes.cli import cairo_png, png_to_tensor  # noqa: E402
from vector.strokes.hertzmann import paint  # noqa: E402
from vector.strokes.presets import PRESETS  # noqa: E402
from vector.strokes.render import composite  # noqa: E402
from vector.strokes.svg import svg_text  # noqa: E402

PHOTO = ROOT / "scenes" / "images" / "stone_house.png"


def timed(fn, repeat):
    """(median wall s, median CPU s, last result) over ``repeat`` runs after a warm-up."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--video", type=int, default=0, metavar="N", help="also paint N frames of the bundled clip")
    parser.add_argument("--video-size", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, torch {torch.__version__}, {load()}")

    photo = load_image(PHOTO, long_side=args.size)
    with torch.no_grad():
        wall, cpu, painting = timed(lambda: paint(photo, PRESETS["impressionist"]), args.repeat)
    h, w = photo.shape[-2:]
    print(f"placement impressionist {w}x{h}: {wall:.2f} s wall, {cpu:.2f} s CPU; strokes per layer "
          f"{painting.stroke_counts} ({load()})")
    for name in ("impressionist", "expressionist"):
        p = painting if name == "impressionist" else paint(photo, PRESETS[name])
        wall, cpu, text = timed(lambda: svg_text(p.strokes, w, h, p.radii), args.repeat)
        print(f"svg writer {name}: {len(p.strokes)} strokes, {len(text) / 1e6:.1f} MB in {wall:.2f} s wall, "
              f"{cpu:.2f} s CPU ({load()})")

    # Renderer: 2,000 strokes at 256 px (the Impressionist painting at 256 px topped up from the Expressionist's).
    small = load_image(PHOTO, long_side=256)
    with torch.no_grad():
        base = paint(small, PRESETS["expressionist"])
    strokes = base.strokes.select(torch.linspace(0, len(base.strokes) - 1, 2000).round().long())
    sh, sw = small.shape[-2:]
    white = torch.ones(3, sh, sw)
    with torch.no_grad():
        wall_f, cpu_f, image = timed(lambda: composite(strokes, sh, sw, white), args.repeat)
    leaves = {n: getattr(strokes, n).clone().requires_grad_(True) for n in ("points", "radius", "colour", "opacity")}

    def forward_backward():
        s = type(strokes)(leaves["points"], strokes.count, leaves["radius"], leaves["colour"], leaves["opacity"],
                          strokes.layer)
        composite(s, sh, sw, white).square().mean().backward()

    wall_b, cpu_b, _ = timed(forward_backward, args.repeat)
    ref = png_to_tensor(cairo_png(svg_text(strokes, sw, sh, base.radii), sw, sh))
    print(f"renderer 2000 strokes {sw}x{sh}: forward {wall_f:.3f} s wall ({cpu_f:.3f} s CPU), forward+backward "
          f"{wall_b:.3f} s wall ({cpu_b:.3f} s CPU); PSNR vs cairosvg {psnr(image, ref):.1f} dB ({load()})")
    verdict = "met" if wall_b <= 0.5 else "NOT met"
    print(f"target forward+backward <= 0.5 s on {args.threads} threads: {verdict} ({wall_b:.3f} s wall, "
          f"{cpu_b:.3f} CPU-s; {load()})")
    if args.video:
        video(args.video, args.video_size)


def video(frames: int, size: int) -> None:
    """Seeded vs independent video painting on the bundled clip: flicker, reuse, CPU seconds per frame."""
    from core.video.io import VideoReader
    from core.video.metrics import warping_errors
    from vector.strokes.video import VideoPainter, VideoPaintConfig

    clip = list(VideoReader(ROOT / "scenes" / "video" / "bbb_clip.mp4", max_frames=frames, long_side=size))
    for independent in (False, True):
        painter = VideoPainter(PRESETS["impressionist"], VideoPaintConfig(independent=independent), seed=0)
        cpu = time.process_time()
        with torch.no_grad():
            results = [painter.step(f) for f in clip]
        cpu = (time.process_time() - cpu) / len(clip)
        errors = warping_errors(clip, [r.painting.canvas[None] for r in results], (1, 10))
        fidelity = statistics.mean(float((r.painting.canvas - f[0]).abs().mean()) for r, f in zip(results, clip))
        reused = statistics.mean(r.reused_fraction for r in results[1:]) if len(results) > 1 else 0.0
        strokes = statistics.mean(len(r.painting.strokes) for r in results)
        print(f"video {'independent' if independent else 'seeded':11s} {len(clip)} frames at {size} px: warping "
              f"error k=1 {errors[1]['mse']:.5f}, k=10 {errors[10]['mse'] or float('nan'):.5f}; fidelity "
              f"{fidelity:.4f}; reused {reused:.2f}, {strokes:.0f} strokes/frame, {cpu:.2f} CPU-s/frame ({load()})")


if __name__ == "__main__":
    main()
