"""``stylize gallery OUTDIR``: an explorable ``OUTDIR/index.html`` for any folder of results and their reports.

The convention it reads (nothing else is needed):

- Every ``*.json`` under OUTDIR (any depth, hidden folders skipped) holding a toolkit report — the ``--report``
  schema of :mod:`core.report`, i.e. a dict with ``command``, ``inputs``, ``outputs`` and ``timings`` — is one
  result. ``stylize scene`` writes ``OUTDIR/report.json`` itself; other commands write one with ``--report``.
- Paths in a report are resolved as written (relative to the folder the command ran in, normally where you run
  ``stylize gallery``), else relative to the report's folder, else by file name in the report's folder.
- The wipe pairs the first input that is an image or a video (the original) with the first output of the same
  kind (the stylized result). Further image inputs (the style) and the other outputs are shown beside it.
- Measurement reports (``metrics``, ``metrics-video``, ``metrics-3d``) are merged into the result whose outputs
  they measured (any of their inputs), so ``stylize metrics result.png --content ... --style ... --report
  result.metrics.json`` adds the style and content distance to that result.
- The command line is the report's ``argv`` when present, else rebuilt from ``args`` with the command's own
  parser (options left at their defaults are omitted). Key numbers: total time (and per step), and every
  numeric metric whose name speaks of style, content, consistency, warping, RMSE, SSIM, PSNR or loss.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shlex
import urllib.parse
from pathlib import Path
from typing import Optional

from core.gallery import Item, Section, media_kind

MEASURE_COMMANDS = ("metrics", "metrics-video", "metrics-3d")
NUMBER_WORDS = ("style", "content", "consisten", "warp", "rmse", "ssim", "psnr", "loss", "distance")
MAX_REPORT_BYTES = 5_000_000
MAX_MEDIA = 6


def find_reports(root: Path) -> list[tuple[Path, dict]]:
    """``(path, parsed report)`` for every report JSON under ``root`` (sorted by path)."""
    found = []
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts) or path.stat().st_size > MAX_REPORT_BYTES:
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(doc, dict) and {"command", "inputs", "outputs", "timings"} <= doc.keys():
            found.append((path, doc))
    return found


def _resolve(name: str, report_dir: Path) -> Optional[Path]:
    for candidate in (Path(name), report_dir / name, report_dir / Path(name).name):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _href(path: Path, root: Path) -> str:
    """A relative URL from ``root/index.html`` to ``path``."""
    return urllib.parse.quote(Path(os.path.relpath(path, root.resolve())).as_posix())


@functools.lru_cache(maxsize=1)
def _parser():
    from core.cli import build_parser

    return build_parser()


def _subparser(command: str):
    for action in _parser()._subparsers._group_actions:  # argparse keeps subcommands here
        if command in getattr(action, "choices", {}):
            return action.choices[command]
    return None


def command_line(report: dict, subparser=None) -> str:
    """The command line of a report: its ``argv`` when recorded, else rebuilt from ``args`` (defaults omitted)."""
    if report.get("argv"):
        return "stylize " + shlex.join(str(a) for a in report["argv"])
    args, command = report.get("args", {}), str(report["command"])
    if subparser is None:
        subparser = _subparser(command)
    words, options = [command], []
    if subparser is None:
        options = [f"--{k.replace('_', '-')}={v}" for k, v in args.items()
                   if k not in ("func", "command") and v not in (None, False)]
        return "stylize " + shlex.join(words + options)
    for action in subparser._actions:
        if action.dest not in args or action.dest == "help":
            continue
        value = args[action.dest]
        if not action.option_strings:
            words += [str(v) for v in value] if isinstance(value, list) else [str(value)]
            continue
        default = list(action.default) if isinstance(action.default, tuple) else action.default
        if value is None or value == default:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:
            options.append(flag)
        elif isinstance(value, list):
            options += [flag, *(str(v) for v in value)]
        else:
            options += [flag, str(value)]
    return "stylize " + shlex.join(words + options)


def _flat(metrics, prefix: str = "") -> dict:
    out = {}
    for key, value in (metrics or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[name] = value
    return out


def key_numbers(report: dict) -> dict[str, str]:
    """Label → formatted value: the run's time and the metrics that measure style, content or consistency."""
    numbers = {}
    timings = report.get("timings") or {}
    if isinstance(timings.get("total_s"), (int, float)):
        device = (report.get("device") or {}).get("name")
        numbers["time"] = f"{timings['total_s']:.1f} s" + (f" on {device}" if device else "")
    if timings.get("steps") and isinstance(timings.get("per_step_s"), (int, float)):
        numbers["steps"] = f"{timings['steps']} ({timings['per_step_s']:.3g} s per step)"
    for name, value in _flat(report.get("metrics")).items():
        if any(word in name.lower() for word in NUMBER_WORDS):
            numbers[name.replace("_", " ")] = f"{value:.4g}"
    return numbers


def _result_item(path: Path, report: dict, root: Path, measures: list[tuple[Path, dict]], merged: set) -> Item:
    """The gallery item of one result report; measurement reports of its outputs are merged (added to
    ``merged``)."""
    report_dir = path.parent
    inputs = [(n, _resolve(str(n), report_dir)) for n in report.get("inputs") or []]
    outputs = [(n, _resolve(str(n), report_dir)) for n in report.get("outputs") or []]
    original = next((p for _, p in inputs if p is not None and media_kind(str(p))), None)
    stylized = next((p for _, p in outputs if p is not None and original is not None
                     and media_kind(str(p)) == media_kind(str(original))), None)
    media = [("style" if i else "input", _href(p, root)) for i, (_, p) in enumerate(inputs)
             if p is not None and media_kind(str(p)) and p not in (original,)]
    media += [(p.name, _href(p, root)) for _, p in outputs if p is not None and media_kind(str(p)) and p != stylized]
    numbers = key_numbers(report)
    links = [(f"input {Path(n).name}", _href(p, root)) for n, p in inputs if p is not None]
    links += [(Path(n).name, _href(p, root)) for n, p in outputs if p is not None]
    links.append((path.name, _href(path, root)))
    produced = {p for _, p in outputs if p is not None}
    for measure_path, measure in measures:
        measured = {_resolve(str(n), measure_path.parent) for n in measure.get("inputs") or []}
        if produced & measured:
            merged.add(measure_path)
            numbers.update({k: v for k, v in key_numbers(measure).items() if k not in ("time", "steps")})
            links.append((measure_path.name, _href(measure_path, root)))
    compare = (_href(original, root), _href(stylized, root)) if original and stylized else ()
    missing = [str(n) for n, p in inputs + outputs if p is None]
    caption = f"not found: {', '.join(missing)}" if missing else ""
    return Item(title=path.relative_to(root).as_posix(), media=media[:MAX_MEDIA], caption=caption, compare=compare,
                command=command_line(report), numbers=numbers, links=links)


def results_sections(root: Path) -> list[Section]:
    """One section per command, one item per result report under ``root`` (measurement reports merged)."""
    root = Path(root)
    reports = [(p, r) for p, r in find_reports(root) if r.get("command") not in ("gallery", "demo")]
    measures = [(p, r) for p, r in reports if r.get("command") in MEASURE_COMMANDS]
    results = [(p, r) for p, r in reports if r.get("command") not in MEASURE_COMMANDS]
    merged: set = set()
    sections: dict[str, Section] = {}
    for path, report in results:
        item = _result_item(path, report, root, measures, merged)
        command = str(report["command"])
        sections.setdefault(command, Section(f"stylize {command}")).items.append(item)
    for path, report in measures:
        if path not in merged:
            item = _result_item(path, report, root, [], merged)
            sections.setdefault(str(report["command"]), Section(f"stylize {report['command']}")).items.append(item)
    return list(sections.values())
