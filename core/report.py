"""One JSON report schema for every command (``--report FILE.json``).

Schema::

    {"command": str, "args": {...}, "inputs": [path...], "outputs": [path...],
     "device": {"name": str, "type": "cpu"|"cuda", "threads": int},
     "versions": {"python", "torch", "toolkit", "platform", ...},
     "timings": {"total_s": float, "per_step_s": float|None, "steps": int|None, "phases": {name: seconds}},
     "metrics": {...}, "sizes": {...}}
"""

import contextlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Iterator

import torch

from core.atomic import atomic_output


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def library_versions() -> dict:
    """Versions of Python, torch and the toolkit (plus CUDA when present)."""
    from core import __version__

    versions = {"python": platform.python_version(), "torch": torch.__version__, "toolkit": __version__,
                "platform": platform.platform()}
    if torch.cuda.is_available():
        versions["cuda"] = torch.version.cuda
        versions["gpu"] = torch.cuda.get_device_name(0)
    return versions


class Report:
    """Collects what one command did; ``write`` saves it atomically as JSON."""

    def __init__(self, command: str, args: "dict | None" = None):
        self.command = command
        self.args = dict(args or {})
        self.inputs: list = []
        self.outputs: list = []
        self.metrics: dict = {}
        self.sizes: dict = {}
        self.phases: dict = {}
        self.device: "torch.device | None" = None
        self.steps: "int | None" = None
        self._start = time.perf_counter()
        self._step_time: "float | None" = None

    @classmethod
    def like(cls, other: "Report") -> "Report":
        """A report of this class carrying everything ``other`` holds so far (same start time)."""
        report = cls.__new__(cls)
        report.__dict__.update(other.__dict__)
        return report

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase of the command; repeated phases of one name add up."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    def set_steps(self, steps: int, seconds: float) -> None:
        """Record that ``steps`` optimisation steps took ``seconds`` in all."""
        self.steps = int(steps)
        self._step_time = float(seconds)

    def to_dict(self) -> dict:
        total = time.perf_counter() - self._start
        per_step = self._step_time / self.steps if self.steps else None
        device = self.device or torch.device("cpu")
        return _jsonable({
            "command": self.command,
            "args": self.args,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "device": {"name": str(device), "type": device.type, "threads": torch.get_num_threads()},
            "versions": library_versions(),
            "timings": {"total_s": total, "per_step_s": per_step, "steps": self.steps, "phases": self.phases},
            "metrics": self.metrics,
            "sizes": self.sizes,
        })

    def write(self, path: "str | os.PathLike | None") -> None:
        """Write the report to ``path`` (nothing when ``path`` is None)."""
        if path is None:
            return
        with atomic_output(Path(path)) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
