"""Pass rates on our SVG conformance cases (tests/vector/conformance.py): our rasterizer against cairosvg.

Each case's reference is cairosvg's rendering of the case where cairosvg is right, else of a hand-resolved
equivalent document (see the module). A rendering passes at PSNR >= 30 dB over white. Prints one row per
feature group (ours / cairosvg / cases; our documented known limits are among the cases) and, with ``--list``,
every case one of the two fails.

    python benchmarks/svg_conformance.py [--list]
"""

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.vector.conformance import GROUPS, ours_rgb  # noqa: E402
from tests.vector.conftest import cairo_rgb, rgb_psnr  # noqa: E402

THRESHOLD = 30.0


def _cairo(case):
    try:
        return rgb_psnr(cairo_rgb(case.svg, case.width, case.height), cairo_rgb(case.reference, case.width, case.height))
    except Exception:  # cairosvg raises on some valid values (e.g. "50%" opacities): a miss
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every case that ours or cairosvg fails")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    totals = [0, 0, 0]
    print(f"{'group':16s} {'ours':>6s} {'cairosvg':>9s} {'cases':>6s}")
    for group, cases in GROUPS.items():
        ours_ok = cairo_ok = 0
        for case in cases:
            ours = rgb_psnr(ours_rgb(case.svg, case.width, case.height), cairo_rgb(case.reference, case.width, case.height))
            cairo = _cairo(case)
            ours_ok += ours >= THRESHOLD
            cairo_ok += cairo >= THRESHOLD
            if args.list and not (ours >= THRESHOLD and cairo >= THRESHOLD):
                print(f"    {case.name:44s} ours {ours:6.1f} dB  cairosvg {cairo:6.1f} dB  {case.why}")
        print(f"{group:16s} {ours_ok:6d} {cairo_ok:9d} {len(cases):6d}")
        totals = [totals[0] + ours_ok, totals[1] + cairo_ok, totals[2] + len(cases)]
    n = totals[2]
    print(f"{'all':16s} {totals[0]:6d} {totals[1]:9d} {n:6d}   ({100 * totals[0] / n:.0f}% vs {100 * totals[1] / n:.0f}%)")


if __name__ == "__main__":
    main()
