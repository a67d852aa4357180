"""Where the radiance-field stylization's memory goes, step by step (Linux only).

    python benchmarks/bench_field_memory.py FIELD DATA [--size 256] [--train-views 16] [--steps 12] [--chunk N]

Builds the stylization as :func:`stylize3d.stylize.stylize_scene` does for a field
(:func:`~stylize3d.fields.stylize.field_style_task`: colour transfer, content references, the task, the shared
objective) on DATA's first
``--train-views`` training cameras, then runs ``--steps`` Adam steps of :func:`core.stylization.evaluate` on
random views. Before each step the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``, value 5), so
each step's peak is its own. Prints one JSON line: the RSS after imports, the set-up's peak, every step's peak and
the RSS after it (GiB), CPU and wall seconds and the loss of every step (two code versions given the same field
and seed draw the same views and must print the same losses), the machine load, and what the two caches hold at
the end (the frozen samples of kept views, the content features of the views seen). Run it under ``MALLOC_MMAP_THRESHOLD_=1048576`` to see
roughly the live memory (glibc then returns every freed block of 1 MiB or more; the steps take about twice as
long).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import torch

from core.config import replace_fields
from core.io.images import load_image
from core.stylization import evaluate
from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.fields.io import load_field
from stylize3d.fields.stylize import STYLIZE_CHUNK_RAYS, field_style_task
from stylize3d.scene_style import SceneStyleConfig

ROOT = Path(__file__).resolve().parents[1]


def _gib(key: str) -> float:
    """``VmRSS`` or ``VmHWM`` (the peak since the last reset) of this process, in GiB."""
    return int(re.search(key + r":\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 2 ** 20


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("field", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--style", type=Path, default=ROOT / "scenes" / "images" / "starry_night.jpg")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--train-views", type=int, default=16)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--chunk", type=int, default=STYLIZE_CHUNK_RAYS, help="rays per chunk of the renders")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_posed_dataset(args.data)
    cameras = data.cameras[data.split["train"][:args.train_views]]
    field = load_field(args.field)
    style = load_image(args.style, long_side=args.size)
    config = replace_fields(SceneStyleConfig, size=args.size)
    out = {"size": args.size, "views": len(cameras), "chunk": args.chunk, "after_imports_gib": _gib("VmRSS")}
    _reset_peak()
    setup = time.perf_counter()
    task, objective = field_style_task(field, cameras, style, config, chunk=args.chunk)
    out.update(setup_peak_gib=_gib("VmHWM"), setup_wall_s=round(time.perf_counter() - setup, 1))
    optimizer = torch.optim.Adam(task.params(), lr=config.loop.lr)
    generator = torch.Generator().manual_seed(0)
    peaks, after, cpu, wall, losses = [], [], [], [], []
    load_before = os.getloadavg()
    for _ in range(args.steps):
        _reset_peak()
        t0, w0 = time.process_time(), time.perf_counter()
        optimizer.zero_grad()
        total = evaluate(task, objective, task.sample_view(generator))["total"]
        total.backward()
        optimizer.step()
        cpu.append(round(time.process_time() - t0, 2))
        wall.append(round(time.perf_counter() - w0, 2))
        losses.append(float(total))
        peaks.append(round(_gib("VmHWM"), 3))
        after.append(round(_gib("VmRSS"), 3))
    out.update(step_peak_gib=peaks, rss_after_step_gib=after, step_cpu_s=cpu, step_wall_s=wall, step_loss=losses,
               mean_wall_s=round(sum(wall) / len(wall), 2), load_before=load_before, load_after=os.getloadavg(),
               sample_cache_mib=round(task.samples.used / 2 ** 20, 1), sample_cache_views=len(task.samples.views),
               content_cache_mib=round(objective._content_bytes / 2 ** 20, 1),
               content_cache_views=len(objective._content_targets))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
