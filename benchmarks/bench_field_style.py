"""Radiance-field stylization targets: style distance of held-out renders, view consistency, step time, peak RSS.

    python benchmarks/bench_field_style.py FIELD DATA [--style scenes/images/starry_night.jpg] [--size 256]
        [--steps 150] [--set content_weight=0.02 lr=0.1 ...] [--frames 32] [--out /tmp/stylize_bench_field_style]
    python benchmarks/bench_field_style.py FIELD DATA --rss-only --size 512 --steps 3 [--train-views 4]
    python benchmarks/bench_field_style.py FIELD DATA --steps 200 --no-consistency   # style distance only

FIELD: a field fitted to DATA (``stylize fit DATA -o FIELD`` or ``bench_field.py --save FIELD``). Stylizes FIELD
with :func:`stylize3d.stylize.stylize_scene` on DATA's training cameras (``SceneStyleConfig`` defaults,
overridden by ``--set name=value``), then measures what issue 12 asks:

* independent style distance (``core.metrics.style_distance``, the Gram yardstick, not the NNFM loss that was
  optimised) of the held-out views rendered at ``--size``, un-stylized and stylized, and their ratio;
* short-range view consistency: ``stylize metrics-3d FIELD STYLIZED --cameras DATA`` (orbit of ``--frames``
  frames at 256 px, reprojection with each field's rendered depth), k=1 RMSE of both fields and their ratio;
  after a stylization also of the colour-transferred field it started from (step 2 of the recipe: the palette
  without texture), and the stylized field's ratio to that one (what the texture adds);
* stylization seconds per step, CPU seconds, peak RSS of the process (``resource.getrusage``), machine load.

``--rss-only``: stylize only (no metrics), so the peak RSS is the stylization's own.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import time
from pathlib import Path

import torch

from core.config import replace_fields
from core.io.images import load_image
from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.fields.io import load_field, save_field
from stylize3d.fields.render import render_field
from stylize3d.fields.stylize import to_degree0, transfer_field_colours
from stylize3d.scene_style import SceneStyleConfig
from stylize3d.stylize import stylize_scene

ROOT = Path(__file__).resolve().parents[1]


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("field", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--style", type=Path, default=ROOT / "scenes" / "images" / "starry_night.jpg")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=None, help="default: SceneStyleConfig's")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="SceneStyleConfig fields")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--train-views", type=int, default=None,
                        help="stylize on the first N training views only (default: all; cheaper --rss-only runs)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rss-only", action="store_true")
    parser.add_argument("--no-consistency", action="store_true", help="measure the style distance only (no metrics-3d)")
    parser.add_argument("--measure", type=Path, default=None, metavar="STYLIZED",
                        help="skip the stylization: measure this stylized field (e.g. an earlier run's stylized.safetensors)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/stylize_bench_field_style"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    values = dict(item.split("=", 1) for item in args.set)
    values = {k: _value(v) for k, v in values.items()}
    values["size"] = args.size
    if args.steps is not None:
        values["steps"] = args.steps
    config = replace_fields(SceneStyleConfig, **values)
    data = load_posed_dataset(args.data)
    field = load_field(args.field)
    style = load_image(args.style, long_side=args.size)
    train = data.cameras[data.split["train"][:args.train_views]]
    load_before = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.measure:
        stylized, stylized_path = load_field(args.measure), args.measure
        summary = {"measured": str(args.measure), "load_before": load_before, "threads": args.threads}
    else:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = stylize_scene(field, style, train, config=config, progress=False)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        opt = result.optimization
        summary = {"config": repr(config), "training_views": len(train), "stylize_wall_s": wall, "stylize_cpu_s": cpu,
                   "steps": opt.steps_done, "seconds_per_step": opt.seconds / max(opt.steps_done, 1),
                   "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
                   "load_before": load_before, "load_after": os.getloadavg(), "threads": args.threads}
        stylized = result.scene
        stylized_path = save_field(stylized, args.out / "stylized.safetensors")
        if result.colour_maps:
            start = transfer_field_colours(to_degree0(field), *result.colour_maps[0])
            start_path = save_field(start, args.out / "colour_transferred.safetensors")
    if not args.rss_only:
        from core.cli import main as cli
        from core.io.images import save_image
        from core.metrics import style_distance

        test = data.cameras[data.split["test"]]
        w, h = test.size_for(args.size)
        with torch.no_grad():
            before = render_field(field, test, w, h, (1.0, 1.0, 1.0)).rgb.clamp(0, 1)
            after = render_field(stylized, test, w, h, (1.0, 1.0, 1.0)).rgb.clamp(0, 1)
        save_image(torch.cat([torch.cat(list(before), 2), torch.cat(list(after), 2)], 1)[None], args.out / "test_views.png")
        d_before = [style_distance(before[i:i + 1], style) for i in range(len(test))]
        d_after = [style_distance(after[i:i + 1], style) for i in range(len(test))]
        def consistency(path: Path, name: str) -> dict:
            report = args.out / f"metrics3d_{name}.json"
            assert cli(["metrics-3d", str(args.field), str(path), "--cameras", str(args.data),
                        "--frames", str(args.frames), "--report", str(report)]) == 0
            return json.loads(report.read_text())["metrics"]

        if args.no_consistency:
            m = {}
        else:
            m = consistency(stylized_path, "stylized")
        if m and not args.measure and result.colour_maps:
            k1_start = consistency(start_path, "colour_transferred")["stylized_short_range_k1_rmse"]
            summary.update({"rmse_k1_colour_transferred": k1_start,
                            "rmse_k1_ratio_colour_transferred": k1_start / m["original_short_range_k1_rmse"],
                            "rmse_k1_ratio_stylized_to_colour_transferred": m["stylized_short_range_k1_rmse"] / k1_start})
        summary.update({
            "style_distance_unstylized": sum(d_before) / len(d_before),
            "style_distance_stylized": sum(d_after) / len(d_after),
            "style_distance_ratio": sum(d_after) / sum(d_before), "load_end": os.getloadavg()})
        if m:
            summary.update({
                "rmse_k1_unstylized": m["original_short_range_k1_rmse"], "rmse_k1_stylized": m["stylized_short_range_k1_rmse"],
                "rmse_k1_ratio": m["stylized_short_range_k1_rmse"] / m["original_short_range_k1_rmse"],
                "rmse_k7_unstylized": m["original_long_range_k7_rmse"], "rmse_k7_stylized": m["stylized_long_range_k7_rmse"]})
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
