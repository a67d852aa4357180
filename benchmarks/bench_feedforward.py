"""Feed-forward (AdaIN/WCT + trained decoder) vs optimisation-based Gatys: speed and quality on one pair.

Speed: ``stylize image --method adain|wct`` through the CLI on a square content image of each ``--sizes`` side;
``timings.stylize_s`` (read, encode, transform, decode, write) and ``timings.load_s`` (weights) from its report.
Gatys' time per step is measured over ``--gatys-probe-steps`` steps at the same size and multiplied by 300.

Quality (``--quality``): reconstruction PSNR (encode then decode, no style: ``--alpha 0``) of held-out images at
``--recon-size``, and ``core.metrics`` style/content distance and SSIM (the ``stylize metrics`` yardstick, 256 px) of
AdaIN, WCT and a 300-step Gatys result made with ``stylize image`` on the same pair at 256 px.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_feedforward.py --quality --gatys-image out/gatys300.png
"""

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from core.cli import main as stylize
from core.image.gatys import GatysConfig, stylize_gatys
from core.io.images import load_image, save_image
from core.metrics import content_distance, ssim, style_distance

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT_CONTENT = ROOT / "scenes/images/stone_house.png"
HELD_OUT_STYLE = ROOT / "scenes/images/wheat_field_cypresses.jpg"


def run_cli(args: list, workdir: Path) -> dict:
    report = workdir / "report.json"
    code = stylize([*args, "--report", str(report)])
    if code != 0:
        raise SystemExit(f"stylize {' '.join(args)} failed with exit code {code}")
    return json.loads(report.read_text())


def square(path: Path, side: int, out: Path) -> Path:
    img = load_image(path)
    h, w = img.shape[-2:]
    s = min(h, w)
    img = img[..., (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    save_image(F.interpolate(img, size=(side, side), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1), out)
    return out


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(F.mse_loss(a, b))
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def speed(args, work: Path) -> None:
    print(f"## Speed ({torch.get_num_threads()} thread(s); machine shared with other jobs: see the note)")
    print("| size | method | load_s | stylize_s | Gatys s/step | Gatys 300 steps (est.) | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for side in args.sizes:
        content = square(args.content, side, work / f"content{side}.png")
        style = square(args.style, side, work / f"style{side}.png")
        image = load_image(content).contiguous()  # L-BFGS needs a contiguous image (load_image may return a permuted view)
        cfg = GatysConfig(steps=args.gatys_probe_steps)
        start = time.perf_counter()
        stylize_gatys(image, [load_image(style)], cfg, progress=False)
        per_step = (time.perf_counter() - start) / args.gatys_probe_steps
        for method in ("adain", "wct"):
            for repeat in range(args.repeats):
                extra = ["--decoder", str(args.decoder)] if args.decoder else []
                rep = run_cli(["image", str(content), str(style), "-o", str(work / f"{method}{side}.png"),
                               "--method", method, "--size", str(side), *extra], work)
                t = rep["timings"]
                print(f"| {side}² | {method} (run {repeat + 1}) | {t['load_s']:.2f} | {t['stylize_s']:.2f} | "
                      f"{per_step:.2f} | {300 * per_step:.0f} | {300 * per_step / t['stylize_s']:.0f}× |")


def quality(args, work: Path) -> None:
    extra = ["--decoder", str(args.decoder)] if args.decoder else []
    print(f"\n## Reconstruction (encode → decode, --alpha 0), long side {args.recon_size}")
    print("| image | PSNR dB | SSIM |")
    print("|---|---|---|")
    for path in args.recon:
        run_cli(["image", str(path), str(path), "-o", str(work / "recon.png"), "--method", "adain", "--alpha", "0",
                 "--size", str(args.recon_size), *extra], work)
        ref = load_image(path, long_side=args.recon_size)
        out = load_image(work / "recon.png")
        print(f"| {Path(path).name} | {psnr(out, ref):.2f} | {ssim(out, ref, size=None):.3f} |")
    print(f"\n## Stylization vs Gatys ({args.content.name} + {args.style.name}, 256 px, core.metrics)")
    print("| method | style distance | ratio to Gatys | content distance | ratio to Gatys | SSIM |")
    print("|---|---|---|---|---|---|")
    content, style = load_image(args.content), load_image(args.style)
    results = {}
    for method in ("adain", "wct"):
        run_cli(["image", str(args.content), str(args.style), "-o", str(work / f"{method}.png"), "--method", method,
                 "--size", "256", *extra], work)
        results[method] = load_image(work / f"{method}.png")
    if args.gatys_image:
        results["gatys 300"] = load_image(args.gatys_image)
    rows = {name: (style_distance(img, style), content_distance(img, content), ssim(img, content))
            for name, img in results.items()}
    ref = rows.get("gatys 300")
    for name, (sd, cd, ss) in rows.items():
        rs = f"{sd / ref[0]:.2f}" if ref else "n/a"
        rc = f"{cd / ref[1]:.2f}" if ref else "n/a"
        print(f"| {name} | {sd:.4g} | {rs} | {cd:.4g} | {rc} | {ss:.3f} |")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--content", type=Path, default=HELD_OUT_CONTENT)
    p.add_argument("--style", type=Path, default=HELD_OUT_STYLE)
    p.add_argument("--decoder", type=Path, default=None, help="decoder file (default: the shipped one)")
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--repeats", type=int, default=2, help="CLI runs per size and method (the first loads weights)")
    p.add_argument("--gatys-probe-steps", type=int, default=3)
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--quality", action="store_true", help="also measure reconstruction and stylization quality")
    p.add_argument("--recon", type=Path, nargs="+", default=[HELD_OUT_CONTENT, HELD_OUT_STYLE])
    p.add_argument("--recon-size", type=int, default=512)
    p.add_argument("--gatys-image", type=Path, default=None,
                   help="a 300-step `stylize image --size 256` Gatys result of the same pair")
    return p.parse_args()


if __name__ == "__main__":
    arguments = parse()
    with tempfile.TemporaryDirectory() as tmp:
        if not arguments.no_speed:
            speed(arguments, Path(tmp))
        if arguments.quality:
            quality(arguments, Path(tmp))
    print(f"\n(torch {torch.__version__}, {os.cpu_count()} CPUs visible, {torch.get_num_threads()} torch thread(s))")
