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
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from core.atomic import atomic_output

if TYPE_CHECKING:
    import torch


def _loaded_torch():
    """The torch module when this process has imported it, else None (a report never imports torch itself: the
    torch-free fast path writes reports too)."""
    return sys.modules.get("torch")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    torch = _loaded_torch()
    if torch is not None and isinstance(value, torch.device):
        return str(value)
    if torch is not None and isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def library_versions() -> dict:
    """Versions of Python, torch and the toolkit (plus CUDA when present; torch's from its package metadata when this
    process did not import it)."""
    from core import __version__

    torch = _loaded_torch()
    versions = {"python": platform.python_version(), "torch": torch.__version__ if torch else _package_version("torch"),
                "toolkit": __version__, "platform": platform.platform()}
    if torch is not None and torch.cuda.is_available():
        versions["cuda"] = torch.version.cuda
        versions["gpu"] = torch.cuda.get_device_name(0)
    return versions


def _package_version(name: str) -> "str | None":
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


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
        self.threads: "int | None" = None
        """CPU threads the work ran on; None: torch's intra-op thread count."""
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
        device = str(self.device or "cpu")
        torch = _loaded_torch()
        threads = self.threads if self.threads is not None else (torch.get_num_threads() if torch else None)
        return _jsonable({
            "command": self.command,
            "args": self.args,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "device": {"name": device, "type": device.split(":")[0], "threads": threads},
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


class LoadStylizeReport(Report):
    """The common report plus ``timings.load_s`` (weights, models) and ``timings.stylize_s`` (reading, stylizing,
    writing), taken from the phases of those names (the one-shot 2D methods: fast, adain, wct)."""

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["timings"]["load_s"] = self.phases.get("load", 0.0)
        out["timings"]["stylize_s"] = self.phases.get("stylize", 0.0)
        return out
