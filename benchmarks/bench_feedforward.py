"""Feed-forward (AdaIN/WCT + trained decoder) vs optimisation-based Gatys: speed and quality on one pair.

Speed: ``stylize image --method adain|wct`` through the CLI on a square content image of each ``--sizes`` side;
``timings.stylize_s`` (read, encode, transform, decode, write) and ``timings.load_s`` (weights) from its report.
Gatys' time per step is measured over ``--gatys-probe-steps`` steps at the same size and multiplied by 300.

Quality (``--quality``): reconstruction PSNR (encode then decode, no style: ``--alpha 0``) of held-out images at
``--recon-size``, and ``core.metrics`` style/content distance and SSIM (the ``stylize metrics`` yardstick, 256 px) of
AdaIN, WCT and a 300-step Gatys result made with ``stylize image`` on the same pair at 256 px.

Compute floor: the speed table also gives the floating-point work of one stylization
(``torch.utils.flop_counter`` on the encoder → transform → decoder pass) and the least time this CPU could take for
it at the best throughput it sustains on a single 3×3 convolution of the same network (measured here, channels-last,
the fastest layout); no implementation of this architecture can beat that floor on this machine.

Ideal-decoder bound (``--bound``): a decoder trained with the AdaIN loss can at best output the image that
minimises that loss. The bound optimises the image itself against exactly the training objective
(``core.train.loop.AdaINTargets``: relu4_1 content to the AdaIN target + style weight × mean/std terms) with
L-BFGS from the content image, and reports its style/content distance beside Gatys' — so a target a perfect
decoder cannot reach shows as such.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_feedforward.py --quality --gatys-image out/gatys300.png
    python benchmarks/bench_feedforward.py --no-speed --bound --gatys-image out/gatys300.png
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from compute_floor import gflop, sustained_conv_gflops
from core.cli import main as stylize
from core.image.feedforward import load_models, stylize_feedforward
from core.config import replace_fields
from core.image.gatys import GatysConfig, stylize_gatys
from core.io.images import load_image, save_image
from core.metrics import content_distance, psnr, ssim, style_distance
from core.nn.decoder import INPUT_LAYER
from core.optimize import optimize
from core.train.loop import STYLE_LAYERS, AdaINTargets

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


def stylization_gflop(side: int) -> float:
    """Floating-point work (GFLOP) of one AdaIN stylization of a ``side``² image with a ``side``² style."""
    load_models()
    image = torch.rand(1, 3, side, side)
    return gflop(lambda: stylize_feedforward(image, [image]))


def speed(args, work: Path) -> None:
    peak = sustained_conv_gflops()
    print(f"## Speed ({torch.get_num_threads()} thread(s); best sustained 3×3 convolution here: {peak:.0f} GFLOP/s)")
    for side in args.sizes:
        gflop = stylization_gflop(side)
        print(f"{side}²: {gflop:.0f} GFLOP per stylization → floor {gflop / peak:.2f} s on this machine")
    print("| size | method | load_s | stylize_s | Gatys s/step | Gatys 300 steps (est.) | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for side in args.sizes:
        content = square(args.content, side, work / f"content{side}.png")
        style = square(args.style, side, work / f"style{side}.png")
        image = load_image(content).contiguous()  # L-BFGS needs a contiguous image (load_image may return a permuted view)
        cfg = replace_fields(GatysConfig, steps=args.gatys_probe_steps)
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


def ideal_decoder_bound(args) -> None:
    """Optimise the image itself against the decoder's training objective (see the module docstring)."""
    encoder, _ = load_models()
    content = load_image(args.content, long_side=256).contiguous()
    style = load_image(args.style, long_side=256)
    with torch.no_grad():
        targets = AdaINTargets.of(encoder(content, [INPUT_LAYER])[INPUT_LAYER], encoder(style, STYLE_LAYERS))
    gatys = load_image(args.gatys_image) if args.gatys_image else None
    ref = (style_distance(gatys, style), content_distance(gatys, content)) if gatys is not None else None
    print(f"\n## Ideal-decoder bound ({args.content.name} + {args.style.name}, 256 px, {args.bound_steps} L-BFGS "
          f"steps on the AdaIN training loss)")
    print("| style weight | style distance | ratio to Gatys | content distance | ratio to Gatys |")
    print("|---|---|---|---|---|")
    for weight in args.bound_style_weights:
        x = content.clone().requires_grad_(True)

        def loss(x=x, weight=weight):
            terms = targets.terms(encoder(x, STYLE_LAYERS))
            return {**terms, "total": terms["content"] + weight * terms["style"]}

        optimize([x], loss, args.bound_steps, project=lambda x=x: x.clamp_(0, 1), progress=False)
        sd, cd = style_distance(x.detach(), style), content_distance(x.detach(), content)
        rs, rc = (f"{sd / ref[0]:.2f}", f"{cd / ref[1]:.2f}") if ref else ("n/a", "n/a")
        print(f"| {weight:g} | {sd:.4g} | {rs} | {cd:.4g} | {rc} |")


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
    p.add_argument("--bound", action="store_true", help="also run the ideal-decoder bound (module docstring)")
    p.add_argument("--bound-steps", type=int, default=300)
    p.add_argument("--bound-style-weights", type=float, nargs="+", default=[10.0, 100.0])
    return p.parse_args()


if __name__ == "__main__":
    arguments = parse()
    with tempfile.TemporaryDirectory() as tmp:
        if not arguments.no_speed:
            speed(arguments, Path(tmp))
        if arguments.quality:
            quality(arguments, Path(tmp))
        if arguments.bound:
            ideal_decoder_bound(arguments)
    print(f"\n(torch {torch.__version__}, {os.cpu_count()} CPUs visible, {torch.get_num_threads()} torch thread(s))")
