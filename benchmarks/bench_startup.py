"""CLI start-up: wall seconds from process start to the first work (here: a help page printed), fresh processes.

Each command runs ``--repeats`` times (default 5) as a new process and the median wall time is reported, beside
``python -c "import torch"``: the floor every command that touches a tensor pays, measured in the same run. A
command at or under that line imports nothing it does not use before its own work starts.

Usage::

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --repeats 9
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "stylize --help": ["--help"],
    "stylize image --help": ["image", "--help"],
    "stylize metrics --help": ["metrics", "--help"],
}
PEER = ("python -c 'import torch' (floor)", [sys.executable, "-c", "import torch"])


def stylize_argv(args: list) -> list:
    """The ``stylize`` console script beside this interpreter (else ``python -m core.cli``) with ``args``."""
    script = shutil.which("stylize", path=str(BIN)) or shutil.which("stylize")
    return [script, *args] if script else [sys.executable, "-m", "core.cli", *args]


def wall_seconds(argv: list, repeats: int) -> float:
    """Median wall seconds of ``repeats`` fresh runs of ``argv`` (each must exit 0)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per command (median reported)")
    args = parser.parse_args()
    rows = [(name, stylize_argv(argv)) for name, argv in COMMANDS.items()] + [PEER]
    wall_seconds(rows[0][1], 1)  # warm the file cache so the first row is not charged for it
    width = max(len(name) for name, _ in rows)
    print(f"{'command':<{width}}  wall s (median of {args.repeats})")
    for name, argv in rows:
        print(f"{name:<{width}}  {wall_seconds(argv, args.repeats):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
