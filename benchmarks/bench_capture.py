"""Time ``stylize capture`` (pycolmap on the CPU) and check its poses against known cameras.

    python benchmarks/bench_capture.py [--counts 30 60] [--size 800] [--out /tmp/bench_capture]
    python benchmarks/bench_capture.py --video scenes/video/bbb_clip.mp4 --counts 30 60

Views: the bundled splat scene rendered by our torch renderer from cameras on a 120-degree arc (two rings,
stylize3d.capture.evaluate.arc_cameras), cached under --out; each count renders its own arc. With --video, frames
are picked from the clip instead (no known cameras; only time and registration). Prints per-stage seconds, wall
and CPU seconds, the load average, registered/total, reprojection error and, for rendered views, the Umeyama-aligned
rotation / orientation / centre errors (issue #13's bar: < 1 degree, < 2 % of the extent).
"""

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path

from core.errors import InputError
from stylize3d.capture.evaluate import arc_cameras, pose_errors, view_index, write_capture_views
from stylize3d.capture.sfm import CaptureConfig, capture
from stylize3d.datasets.transforms_json import load_transforms


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", type=int, nargs="+", default=[30, 60])
    ap.add_argument("--size", type=int, default=800, help="width of the rendered views (height 3/4 of it)")
    ap.add_argument("--video", default=None, help="pick frames from this video instead of rendering views")
    ap.add_argument("--out", default="/tmp/bench_capture")
    ap.add_argument("--views-from", type=int, default=None, metavar="N",
                    help="take each count's views as a subset of an N-view arc rendered once (cached)")
    args = ap.parse_args()
    out = Path(args.out)
    rows = []
    for count in args.counts:
        arc = args.views_from or count
        rendered = out / f"views_{arc}_{args.size}"
        width, height = args.size, args.size * 3 // 4
        if not args.video and not rendered.is_dir():
            t = time.perf_counter()
            write_capture_views(rendered, arc, width, height)
            print(f"rendered {arc} views at {width}x{height} in {time.perf_counter() - t:.0f} s")
        source = Path(args.video) if args.video else rendered
        if not args.video and count < arc:  # an even subset of the arc
            source = out / f"subset_{count}_of_{arc}_{args.size}"
            source.mkdir(parents=True, exist_ok=True)
            files = sorted(rendered.iterdir())
            for k in range(count):
                shutil.copyfile(files[round(k * (arc - 1) / (count - 1))], source / files[round(k * (arc - 1) / (count - 1))].name)
        data = out / f"data_{count}"
        shutil.rmtree(data, ignore_errors=True)
        load0, cpu0, t0 = os.getloadavg()[0], cpu_seconds(), time.perf_counter()
        try:
            result = capture(source, data, CaptureConfig(frames=count), progress=False)
        except InputError as exc:
            rows.append({"pictures": count, "source": str(source), "wall_s": round(time.perf_counter() - t0, 1),
                         "cpu_s": round(cpu_seconds() - cpu0, 1), "load_start": round(load0, 1), "error": str(exc)})
            print(json.dumps(rows[-1]))
            continue
        row = {"pictures": count, "source": str(source), "wall_s": round(time.perf_counter() - t0, 1),
               "cpu_s": round(cpu_seconds() - cpu0, 1), "load_start": round(load0, 1),
               "load_end": round(os.getloadavg()[0], 1), "stages_s": {k: round(v, 1) for k, v in result.seconds.items()},
               "registered": result.registered, "total": result.total, "points": result.points,
               "reprojection_px": round(result.reprojection_error, 3), "matcher": result.matcher}
        if not args.video:
            doc = json.loads((data / "transforms.json").read_text())
            truth = arc_cameras(arc, width, height)
            errors = pose_errors(load_transforms(data / "transforms.json"),
                                 truth[[view_index(f["file_path"]) for f in doc["frames"]]])
            row["errors"] = {k: round(v, 4) for k, v in errors.items()}
        rows.append(row)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
