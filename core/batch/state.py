"""Which jobs are already done: each job's argument hash, stamped into its report when it finishes.

A job is *complete* when its report (the ``--report`` JSON the command wrote) exists, carries
``batch.hash`` equal to :func:`job_hash` of the job as it is now, and every output it lists (and the job's
``output``) exists. Re-running a batch skips complete jobs. The hash covers the command, its words (but
``--resume``), the output and report paths, and size and modification time of every argument that names an
existing file (other than the job's own output and report), so editing the job or touching an input re-runs it.
"""

from __future__ import annotations

import hashlib
import json
import os

from core.atomic import atomic_output
from core.batch.jobs import BatchJob

STAMP_KEY = "batch"
"""The key of the report entry the batch adds: ``{"hash": str, "attempts": int}``."""


def job_hash(job: BatchJob) -> str:
    """A hex SHA-256 of what decides the job's result (see the module docstring)."""
    own = {job.path(job.output).resolve(), job.path(job.report).resolve()}
    files = []
    for word in job.args:
        candidate = job.path(word)
        if len(word) < 4096 and candidate.is_file() and candidate.resolve() not in own:
            stat = candidate.stat()
            files.append([word, stat.st_size, stat.st_mtime_ns])
    words = [word for word in job.args if word != "--resume"]  # resuming changes how a result is reached, not which
    text = json.dumps({"command": job.command, "args": words, "output": job.output, "report": job.report,
                       "files": files}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_report(job: BatchJob) -> "dict | None":
    """The job's report as a dict, or None when it is missing or not JSON."""
    try:
        report = json.loads(job.path(job.report).read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def is_complete(job: BatchJob, digest: str) -> bool:
    """Whether the job's report and outputs exist and the report was stamped with ``digest``."""
    report = read_report(job)
    if report is None or (report.get(STAMP_KEY) or {}).get("hash") != digest:
        return False
    outputs = [job.output, *(str(o) for o in report.get("outputs") or [])]
    return all(job.path(o).exists() for o in outputs)


def stamp_report(job: BatchJob, digest: str, attempts: int) -> bool:
    """Add ``batch: {hash, attempts}`` to the job's report (rewritten atomically); False when it has none."""
    report = read_report(job)
    if report is None:
        return False
    report[STAMP_KEY] = {"hash": digest, "attempts": attempts}
    with atomic_output(job.path(job.report)) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    return True


def output_exists(job: BatchJob) -> bool:
    """Whether the job's output file or folder is there."""
    return os.path.exists(job.path(job.output))
