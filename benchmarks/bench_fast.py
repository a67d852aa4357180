"""The fast path's frontier: style distance vs seconds for ``--method fast`` candidates, adain and Gatys at 512 px.

For every candidate × photo/painting pair: the wall seconds, the style distance ratio
``style_distance(result, style) / style_distance(photo, style)`` and SSIM to the photo — both exactly as
``stylize metrics`` computes them (the result written as PNG and read back, photo and style at their file sizes,
:mod:`core.metrics` at 256 px).

Two kinds of candidate. In-process ones time :func:`core.stylize_image` (torch engine; inputs read from disk at
``--size``; weights loaded by a warm-up run, so this is work only): ``fast`` (the default recipe of
:mod:`core.image.fast`), variants of its step count and working size, ``fast-nodetail`` (no detail restored),
``adain`` (shipped decoder) and ``gatys-N`` (N L-BFGS steps at full size). Command ones (``cmd-…``) time a fresh
``stylize image … --size 512`` process, start-up (imports, weight or graph load) included — the issue's wall time —
and measure that process's own output: ``cmd-fast`` (``--method fast``, its default engine: ONNX Runtime on a CPU),
``cmd-fast-torch`` (``--engine torch``) and ``cmd-adain``. The ONNX graphs are built by a warm-up command first.
The default pairs have styles no setting was tuned on (``--pairs dev`` gives the bundled pairs tuning used).

Usage::

    python benchmarks/bench_fast.py --plot out/fast_frontier.png
    python benchmarks/bench_fast.py --pairs dev --candidates fast fast-2 fast-5
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from core.image.methods import stylize_image
from core.io.images import load_image, save_image
from core.metrics import ssim, style_distance

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "scenes/images"
PAIRS = {
    "unseen": [("parrots.png", "the_kiss.jpg"), ("parrots.png", "shipwreck_minotaur.jpg"),
               ("cat.png", "the_kiss.jpg"), ("stone_house.png", "shipwreck_minotaur.jpg")],
    "dev": [("stone_house.png", "starry_night.jpg"), ("cat.png", "great_wave.jpg"),
            ("rocket.jpg", "wheat_field_cypresses.jpg"), ("stone_house.png", "wheat_field_cypresses.jpg")],
}
TARGET_RATIO, TARGET_SSIM, TARGET_WALL_S = 0.6, 0.45, 1.5


def candidates(gatys_steps: int) -> dict:
    """Name → ``(method, settings)`` for :func:`stylize_image`."""
    return {"fast": ("fast", {}), "fast-2": ("fast", {"steps": 2}), "fast-5": ("fast", {"steps": 5}),
            "fast-256": ("fast", {"work_size": 256}),
            "fast-192": ("fast", {"work_size": 192}), "fast-384": ("fast", {"work_size": 384}),
            "fast-nodetail": ("fast", {"detail": 0.0}), "adain": ("adain", {}),
            f"gatys-{gatys_steps}": ("gatys", {"steps": gatys_steps})}


COMMANDS = {"cmd-fast": ["--method", "fast"], "cmd-fast-torch": ["--method", "fast", "--engine", "torch"],
            "cmd-adain": ["--method", "adain"]}
"""Command candidates: name → ``stylize image`` flags."""


def measure(result_png: Path, content: Path, style: Path) -> "tuple[float, float]":
    """``(style distance ratio, SSIM)`` of a written result, as ``stylize metrics`` reads and measures it."""
    image, photo, painting = load_image(result_png), load_image(content), load_image(style)
    return style_distance(image, painting) / style_distance(photo, painting), ssim(image, photo)


def whole_command(flags: list, content: Path, style: Path, size: int, out: Path, threads: int) -> float:
    """Wall seconds of a fresh ``stylize image`` process (start-up included)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [str(Path(sys.executable).with_name("stylize")), "image", str(content), str(style), *flags,
           "--size", str(size), "-o", str(out), "--quiet"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def plot_frontier(rows: list, path: Path, size=(760, 480)) -> Path:
    """Scatter of mean seconds (log axis) vs worst style-distance ratio per candidate, with the targets as lines."""
    width, height = size
    left, right, top, bottom = 70, 30, 36, 50
    by_name: dict = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    points = {name: (sum(r["seconds"] for r in rs) / len(rs), max(r["ratio"] for r in rs),
                     min(r["ssim"] for r in rs)) for name, rs in by_name.items()}
    t_lo = math.log10(min(min(p[0] for p in points.values()), TARGET_WALL_S) / 1.5)
    t_hi = math.log10(max(p[0] for p in points.values()) * 1.5)
    r_hi = max(1.1, max(p[1] for p in points.values()) * 1.1)

    def xy(seconds, ratio):
        return (left + (width - left - right) * (math.log10(seconds) - t_lo) / (t_hi - t_lo),
                height - bottom - (height - top - bottom) * ratio / r_hi)

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.text((left, 10), "style distance ratio (worst pair) vs mean seconds per image, 512 px; label: min SSIM",
              fill="black")
    draw.line([xy(10 ** t_lo, 0), xy(10 ** t_hi, 0)], fill="black")
    draw.line([xy(10 ** t_lo, 0), xy(10 ** t_lo, r_hi)], fill="black")
    for k in range(6):
        ratio = r_hi * k / 5
        draw.text((8, xy(10 ** t_lo, ratio)[1] - 6), f"{ratio:.2f}x", fill="black")
    decade = math.floor(t_lo)
    while decade <= t_hi:
        for m in (1, 2, 5):
            seconds = m * 10 ** decade
            if t_lo <= math.log10(seconds) <= t_hi:
                x = xy(seconds, 0)[0]
                draw.line([(x, height - bottom), (x, height - bottom + 4)], fill="black")
                draw.text((x - 10, height - bottom + 8), f"{seconds:g} s", fill="black")
        decade += 1
    draw.line([xy(10 ** t_lo, TARGET_RATIO), xy(10 ** t_hi, TARGET_RATIO)], fill=(44, 160, 44))
    draw.line([xy(TARGET_WALL_S, 0), xy(TARGET_WALL_S, r_hi)], fill=(44, 160, 44))
    for name, (seconds, ratio, worst_ssim) in points.items():
        x, y = xy(seconds, ratio)
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(214, 39, 40))
        draw.text((x + 6, y - 6), f"{name} ({worst_ssim:.2f})", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", choices=sorted(PAIRS), default="unseen")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gatys-steps", type=int, default=30)
    parser.add_argument("--candidates", nargs="+", default=None, help="names to run (default: all)")
    parser.add_argument("--plot", type=Path, default=None, help="write the style-vs-seconds frontier as PNG")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = candidates(args.gatys_steps)
    names = args.candidates or [*table, *COMMANDS]
    unknown = set(names) - set(table) - set(COMMANDS)
    if unknown:
        raise SystemExit(f"unknown candidates {sorted(unknown)}; choose from {', '.join(table)}")
    pairs = [(IMAGES / c, IMAGES / s) for c, s in PAIRS[args.pairs]]
    print(f"# {args.pairs} pairs, {args.size} px, {args.threads} threads, load average {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.png"
        for name in names:  # warm-up: weights, kernels and ONNX graphs ready
            if name in COMMANDS:
                whole_command(COMMANDS[name], pairs[0][0], pairs[0][1], 64, out, args.threads)
                continue
            method, config = table[name]
            warm = {**config, "steps": 1} if method in ("fast", "gatys") else config
            stylize_image(pairs[0][0], pairs[0][1], method, size=64, **warm)
        print("| candidate | pair | wall s | style ratio | SSIM |")
        print("|---|---|---|---|---|")
        for content, style in pairs:
            for name in names:
                if name in COMMANDS:
                    seconds = whole_command(COMMANDS[name], content, style, args.size, out, args.threads)
                else:
                    method, config = table[name]
                    started = time.perf_counter()
                    save_image(stylize_image(content, style, method, size=args.size, **config), out)
                    seconds = time.perf_counter() - started
                ratio, similarity = measure(out, content, style)
                rows.append({"name": name, "pair": f"{content.stem}/{style.stem}", "seconds": seconds,
                             "ratio": ratio, "ssim": similarity})
                print(f"| {name} | {content.stem} / {style.stem} | {seconds:.2f} | {ratio:.3f} | {similarity:.3f} |",
                      flush=True)
    print(f"\n| candidate | mean wall s | worst wall s (≤ {TARGET_WALL_S} for a command) | "
          f"worst style ratio (≤ {TARGET_RATIO}) | worst SSIM (≥ {TARGET_SSIM}) |")
    print("|---|---|---|---|---|")
    for name in names:
        mine = [r for r in rows if r["name"] == name]
        print(f"| {name} | {sum(r['seconds'] for r in mine) / len(mine):.2f} | {max(r['seconds'] for r in mine):.2f} | "
              f"{max(r['ratio'] for r in mine):.3f} | {min(r['ssim'] for r in mine):.3f} |")
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
    if args.plot:
        print(f"wrote {plot_frontier(rows, args.plot)}")


if __name__ == "__main__":
    main()
