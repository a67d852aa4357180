"""The job file of ``stylize batch``: YAML, JSON or CSV → a list of :class:`BatchJob`.

YAML/JSON: a list of jobs, or a mapping with ``jobs`` (the list) and optional ``defaults`` (keys every job
starts from; a job's own keys win)::

    defaults: {num_cpus: 1}
    jobs:
      - command: image                      # any stylize command: image, video, scene, fit, svg, paint ...
        inputs: photos/*.jpg                # optional glob: one job per matching file, sorted
        args: ["{input}", styles/starry.jpg]
        options: {size: 256, steps: 100}    # --size 256 --steps 100 (true: a bare flag; a list: several values)
        output: out/{stem}.png              # required; the batch adds -o OUTPUT and --report OUTPUT.json
      - command: video
        args: [clip.mp4, styles/wave.jpg, --segments, "4"]
        output: out/clip.mp4
        num_cpus: 2                         # resources declared to the runner (Ray schedules by them)
        num_gpus: 1                         # a GPU job (the default with --device cuda): Ray sends it to a
                                            # node with a free GPU

In ``args``, ``options`` and ``output`` the placeholders ``{input}`` (the matched path), ``{name}`` (its file
name) and ``{stem}`` (the name without suffix) are replaced. ``report`` overrides the report path.

CSV: one row per job with a header; columns ``command``, ``output`` (required), ``args`` (one string, split
like a shell line), ``inputs``, ``report``, ``num_cpus``, ``num_gpus``; every other non-empty column ``name``
becomes ``--name VALUE``.

Relative paths (globs, inputs, outputs) are relative to the job file's folder, which is also the folder every
job runs in.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import json
import shlex
from pathlib import Path
from typing import Any, Iterable

from core.errors import InputError

JOB_KEYS = ("command", "args", "options", "inputs", "output", "report", "num_cpus", "num_gpus")
PLACEHOLDERS = ("{input}", "{name}", "{stem}")


@dataclasses.dataclass(frozen=True)
class BatchJob:
    """One ``stylize COMMAND ARGS -o OUTPUT --report REPORT`` run in folder ``cwd`` with declared resources."""

    name: str
    """Shown in the progress bar and the batch report: the job's position and, for a glob, the matched file."""
    command: str
    args: tuple
    output: str
    report: str
    cwd: str
    """Absolute folder the job runs in; ``output``, ``report`` and relative arguments are relative to it."""
    num_cpus: float = 1.0
    num_gpus: float = 0.0

    def argv(self) -> list:
        """The ``stylize`` arguments of the job."""
        return [self.command, *self.args, "-o", self.output, "--report", self.report]

    def path(self, name: str) -> Path:
        """``name`` (the output, the report or an argument) as an absolute path."""
        return Path(self.cwd, name)


def load_jobs(path: "str | Path") -> list:
    """The jobs of the job file at ``path`` (``.yaml``/``.yml``, ``.json`` or ``.csv``); :class:`InputError` for
    an unreadable file, an unknown key, a missing ``command``/``output``, a glob that matches nothing, or two jobs
    writing the same output."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: job file not found")
    suffix = path.suffix.lower()
    text = path.read_text()
    if suffix == ".csv":
        specs = [_csv_row(row, n) for n, row in enumerate(csv.DictReader(text.splitlines()), 1)]
    elif suffix in (".yaml", ".yml", ".json"):
        specs = _list_of_specs(_parse_mapping(text, path, suffix))
    else:
        raise InputError(f"{path}: job file must end in .yaml, .yml, .json or .csv")
    cwd = path.resolve().parent
    jobs = [job for number, spec in enumerate(specs, 1) for job in _expand(spec, number, cwd, path.name)]
    if not jobs:
        raise InputError(f"{path}: holds no job")
    seen: dict = {}
    for job in jobs:
        target = job.path(job.output).resolve()
        if target in seen:
            raise InputError(f"{path}: jobs {seen[target]} and {job.name} both write {job.output}")
        seen[target] = job.name
    return jobs


def _parse_mapping(text: str, path: Path, suffix: str) -> Any:
    try:
        if suffix == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:  # the parsers' own errors (json.JSONDecodeError, yaml.YAMLError) on one line
        raise InputError(f"{path}: not valid {suffix[1:].upper()} ({' '.join(str(exc).split())[:160]})") from None


def _list_of_specs(data: Any) -> list:
    defaults: dict = {}
    if isinstance(data, dict):
        unknown = set(data) - {"jobs", "defaults"}
        if unknown:
            raise InputError(f"job file: unknown top-level key(s) {', '.join(sorted(unknown))} (expected jobs, defaults)")
        defaults = data.get("defaults") or {}
        data = data.get("jobs")
    if not isinstance(data, list) or not all(isinstance(spec, dict) for spec in data) or not isinstance(defaults, dict):
        raise InputError("job file: expected a list of jobs (mappings), or a mapping with 'jobs' and 'defaults'")
    return [{**defaults, **spec} for spec in data]


def _csv_row(row: dict, number: int) -> dict:
    spec: dict = {"options": {}}
    for key, value in row.items():
        value = (value or "").strip()
        if key is None or not value:
            continue
        if key == "args":
            spec["args"] = shlex.split(value)
        elif key in JOB_KEYS:
            spec[key] = value
        else:
            spec["options"][key] = value
    return spec


def _options(options: Any, where: str) -> list:
    """``{size: 256, preserve_color: true, blend: [1, 2]}`` → ``--size 256 --preserve-color --blend 1 2``."""
    if not isinstance(options, dict):
        raise InputError(f"{where}: 'options' must be a mapping of option name to value")
    words = []
    for key, value in options.items():
        flag = "--" + str(key).lstrip("-").replace("_", "-")
        if value is True:
            words.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            words += [flag, *(str(v) for v in value)]
        else:
            words += [flag, str(value)]
    return words


def _fill(text: str, match: "Path | None") -> str:
    if match is None:
        if any(p in text for p in PLACEHOLDERS):
            raise InputError(f"{text!r} uses a placeholder, but the job has no 'inputs' glob")
        return text
    return text.replace("{input}", str(match)).replace("{name}", match.name).replace("{stem}", match.stem)


def _resource(spec: dict, key: str, default: float, where: str) -> float:
    try:
        value = float(spec.get(key, default))
    except (TypeError, ValueError):
        raise InputError(f"{where}: {key} must be a number, got {spec.get(key)!r}") from None
    if value < 0:
        raise InputError(f"{where}: {key} must be >= 0, got {value:g}")
    return value


def _expand(spec: dict, number: int, cwd: Path, file_name: str) -> Iterable[BatchJob]:
    where = f"{file_name}: job {number}"
    unknown = set(spec) - set(JOB_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(JOB_KEYS)})")
    if not spec.get("command") or not spec.get("output"):
        raise InputError(f"{where}: needs 'command' and 'output'")
    args = spec.get("args") or []
    if isinstance(args, str):
        args = shlex.split(args)
    if not isinstance(args, list):
        raise InputError(f"{where}: 'args' must be a list of words or one command-line string")
    words = [str(a) for a in args] + _options(spec.get("options") or {}, where)
    num_cpus = _resource(spec, "num_cpus", 1.0, where)
    asks_for_cuda = any(a == "--device" and b.startswith("cuda") for a, b in zip(words, words[1:]))
    num_gpus = _resource(spec, "num_gpus", 1.0 if asks_for_cuda else 0.0, where)
    matches: list = [None]
    if spec.get("inputs"):
        pattern = str(spec["inputs"])
        matches = sorted(Path(p) for p in glob.glob(pattern, root_dir=cwd, recursive=True))
        if not matches:
            raise InputError(f"{where}: inputs {pattern!r} matches no file (relative to {cwd})")
    for match in matches:
        try:
            output = _fill(str(spec["output"]), match)
            report = _fill(str(spec["report"]), match) if spec.get("report") else f"{output}.json"
            filled = tuple(_fill(w, match) for w in words)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        name = f"{number}" if match is None else f"{number}:{match.name}"
        yield BatchJob(name, str(spec["command"]), filled, output, report, str(cwd), num_cpus, num_gpus)
