"""Temporal consistency benchmark: per-frame stylizers (``--methods``, default Gatys) with ``--consistency none``
(the peer), ``optimize`` and ``blend`` on the bundled clip, in one run.

For each method × mode it prints seconds per frame, the masked warping error (``core.video.metrics``, flow on the
original frames) at k = 1 and k = 10 with its ratio to the same method's ``none``, and the mean style distance of
the frames (``core.metrics.style_distance`` at 256 px) with its ratio to ``none``. Targets (issue 5): optimize
k=1 error ≤ 50 % of none, style distance within 15 % of none.

    .venv/bin/python benchmarks/bench_video.py --size 256 --frames 12 --steps 12 --first-steps 24
    .venv/bin/python benchmarks/bench_video.py --methods gatys,fast --size 512 --frames 8   # the quick path
"""

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import replace_fields  # noqa: E402
from core.image.gatys import GatysConfig  # noqa: E402
from core.io.images import load_image  # noqa: E402
from core.metrics import style_distance  # noqa: E402
from core.scenes import scenes_dir  # noqa: E402
from core.video.consistency import TemporalConsistency, TemporalSettings  # noqa: E402
from core.video.io import VideoReader  # noqa: E402
from core.video.metrics import warping_errors  # noqa: E402
from core.video.stylizers import make_frame_stylizer  # noqa: E402


def run_mode(method: str, mode: str, frames, style, args) -> dict:
    torch.manual_seed(args.seed)
    stylizer = make_frame_stylizer(method, [style], {"gatys": replace_fields(GatysConfig, steps=args.steps,
                                                                             seed=args.seed)})
    settings = TemporalSettings(mode=mode, steps=args.steps, first_frame_steps=args.first_steps,
                                temporal_weight=args.temporal_weight, blend_strength=args.blend_strength)
    consistency = TemporalConsistency(stylizer, settings)
    started = time.perf_counter()
    outputs = list(consistency.run(frames))
    seconds = (time.perf_counter() - started) / len(frames)
    errors = warping_errors(frames, outputs, ranges=(1, 10))
    style_d = sum(style_distance(out, style) for out in outputs) / len(outputs)
    return {"s_per_frame": seconds, "flow_s_per_frame": consistency.seconds_linking / len(frames),
            "k1": errors[1]["mse"], "k10": errors[10]["mse"], "pairs10": errors[10]["pairs"], "style": style_d}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default=str(scenes_dir() / "video" / "bbb_clip.mp4"))
    parser.add_argument("--style", default=str(scenes_dir() / "images" / "starry_night.jpg"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--first-steps", type=int, default=24)
    parser.add_argument("--temporal-weight", type=float, default=1e3)
    parser.add_argument("--blend-strength", type=float, default=0.7)
    parser.add_argument("--modes", default="none,optimize,blend")
    parser.add_argument("--methods", default="gatys", help="comma-separated per-frame stylizers (gatys, fast, adain)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    frames = list(VideoReader(args.clip, long_side=args.size, max_frames=args.frames))
    style = load_image(args.style, long_side=args.size)
    w, h = frames[0].shape[-1], frames[0].shape[-2]
    print(f"clip {Path(args.clip).name}: {len(frames)} frames at {w}x{h}; style {Path(args.style).name}; "
          f"Gatys L-BFGS {args.first_steps} steps (frame 0) / {args.steps} steps (others); temporal weight "
          f"{args.temporal_weight:g}; blend strength {args.blend_strength}; torch threads {torch.get_num_threads()}",
          flush=True)
    results = {}
    for method in args.methods.split(","):
        for mode in args.modes.split(","):
            results[method, mode] = run_mode(method, mode, frames, style, args)
            print(f"  done {method} {mode}: {results[method, mode]}", flush=True)

    def ratio(key: str, method: str, mode: str) -> str:
        base, value = results.get((method, "none")), results[method, mode][key]
        return f"{value / base[key]:.2f}" if base and base[key] and value is not None else "-"

    def error(value) -> str:
        return "-" if value is None else f"{value:.5f}"

    print("\n| method | mode | s/frame (flow) | warp err k=1 | vs none | warp err k=10 | vs none | style distance | "
          "vs none |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (method, mode), r in results.items():
        print(f"| {method} | {mode} | {r['s_per_frame']:.2f} ({r['flow_s_per_frame']:.2f}) | {error(r['k1'])} | "
              f"{ratio('k1', method, mode)} | {error(r['k10'])} ({r['pairs10']} pairs) | {ratio('k10', method, mode)} | "
              f"{r['style']:.3g} | {ratio('style', method, mode)} |")
    base, opt = results.get(("gatys", "none")), results.get(("gatys", "optimize"))
    if base and opt:
        print(f"\ntarget optimize k=1 <= 0.50 x none: {opt['k1'] / base['k1']:.2f} -> "
              f"{'met' if opt['k1'] <= 0.5 * base['k1'] else 'NOT met'}; style distance within 15 %: "
              f"{opt['style'] / base['style']:.2f} -> {'met' if abs(opt['style'] / base['style'] - 1) <= 0.15 else 'NOT met'}")


if __name__ == "__main__":
    main()
