"""One attempt at a batch job: a ``stylize`` subprocess (:mod:`core.batch.child`), its log and its result.

The same function runs in a local runner's worker thread and inside a Ray task, so both runners behave alike:
the job gets ``num_cpus`` threads (``OMP_NUM_THREADS``; results are then the same wherever it runs), its output
(stdout and stderr) goes to a hidden log beside its report, and the last ``error:`` line of that log becomes
the attempt's one-line error.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from core.batch.child import PARENT_ENV, RESUME_FLAG
from core.batch.jobs import BatchJob

EXIT_OK, EXIT_USER_ERROR = 0, 2


@dataclasses.dataclass
class AttemptResult:
    """How one attempt ended: ``exit_code`` (negative: killed by that signal; None: the worker itself was lost),
    wall ``seconds``, the one-line ``error`` (None on success), and the ``host`` it ran on."""

    exit_code: Optional[int]
    seconds: float
    error: Optional[str] = None
    host: str = ""


def log_path(job: BatchJob) -> Path:
    """The hidden log of the job's attempts: ``.REPORT.log`` beside its report."""
    report = job.path(job.report)
    return report.with_name(f".{report.name}.log")


def last_error(log: str) -> Optional[str]:
    """The last ``...: error: ...`` line of ``log`` (a stylize user error), else its last non-empty line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if ": error: " in line]
    line = errors[-1] if errors else (lines[-1] if lines else None)
    return line[:500] if line else None


def run_attempt(job: BatchJob, resume: bool = False, on_start: Optional[Callable] = None) -> AttemptResult:
    """Run ``stylize`` with the job's arguments in ``job.cwd`` and wait for it. ``resume``: add ``--resume`` where
    the command has it. ``on_start(process)`` is called with the :class:`subprocess.Popen` once it runs."""
    env = dict(os.environ, **{PARENT_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1"})
    threads = str(max(1, int(job.num_cpus)))
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    command = [sys.executable, "-m", "core.batch.child", *([RESUME_FLAG] if resume else []), *job.argv()]
    log = log_path(job)
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "ab") as sink:
        sink.write(f"$ stylize {' '.join(job.argv())}{' (retry, resuming)' if resume else ''}\n".encode())
        sink.flush()
        process = subprocess.Popen(command, cwd=job.cwd, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        if on_start is not None:
            on_start(process)
        try:
            code = process.wait()
        except BaseException:  # Ctrl-C or a Ray cancel: let the job keep its checkpoint, then pass it on
            process.terminate()
            process.wait()
            raise
    seconds = time.perf_counter() - started
    error = None if code == EXIT_OK else last_error(log.read_text(errors="replace").split("\n$ stylize ")[-1])
    if code == EXIT_OK:
        log.unlink(missing_ok=True)
    return AttemptResult(code, seconds, error, socket.gethostname())
