"""Run a list of :class:`~core.batch.jobs.BatchJob` on a runner: skip complete jobs, retry crashed ones.

An attempt that exits 0 and leaves its output is *done* (its report is stamped with the job hash, see
:mod:`core.batch.state`). Exit 2 is a user error (bad input or option): the job *failed*, its one-line error is
kept and it is not retried. Anything else — a worker killed (SIGKILL, out of memory, a lost Ray node), a
traceback, an interruption of the job alone — is retried up to ``retries`` times, each retry with ``--resume``
(where the command has it) so it continues from the job's own checkpoint. Ctrl-C (or SIGTERM) stops the
running jobs, which keep their checkpoints; their status is ``interrupted`` and jobs not started stay
``pending``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import signal
from typing import Optional

from core.batch.attempt import EXIT_OK, EXIT_USER_ERROR, AttemptResult, log_path
from core.batch.jobs import BatchJob
from core.batch.progress import JobProgress
from core.batch.state import is_complete, job_hash, output_exists, stamp_report


@dataclasses.dataclass
class JobOutcome:
    """What became of one job: ``status`` (done, skipped, failed, interrupted, pending), ``attempts`` started,
    wall ``seconds`` over all attempts, the job ``hash``, the last one-line ``error`` and each attempt's exit
    code (negative: the signal that killed it; None: the worker was lost). A failed job's full output stays in
    its log (:func:`~core.batch.attempt.log_path`)."""

    job: BatchJob
    hash: str
    status: str = "pending"
    attempts: int = 0
    seconds: float = 0.0
    error: Optional[str] = None
    exit_codes: list = dataclasses.field(default_factory=list)
    hosts: list = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.job.name, "command": self.job.command, "output": self.job.output,
                "report": self.job.report, "status": self.status, "attempts": self.attempts,
                "seconds": round(self.seconds, 3), "hash": self.hash, "error": self.error,
                "exit_codes": self.exit_codes, "hosts": self.hosts,
                "log": str(log_path(self.job)) if self.status == "failed" else None}


def _result(future: concurrent.futures.Future) -> AttemptResult:
    try:
        return future.result()
    except Exception as exc:  # the worker (thread or Ray task) itself failed: treated as a crash
        return AttemptResult(None, 0.0, f"worker lost: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")


def _crash_message(result: AttemptResult) -> str:
    if result.exit_code is not None and result.exit_code < 0:
        try:
            name = signal.Signals(-result.exit_code).name
        except ValueError:
            name = f"signal {-result.exit_code}"
        return f"killed by {name}"
    return result.error or f"exit code {result.exit_code}"


@dataclasses.dataclass
class BatchResult:
    """One :class:`JobOutcome` per job (in job-file order); ``interrupted`` after Ctrl-C/SIGTERM."""

    outcomes: list
    interrupted: bool = False

    def counts(self) -> dict:
        return dict(collections.Counter(o.status for o in self.outcomes))

    def failed(self) -> list:
        return [o for o in self.outcomes if o.status == "failed"]


def run_batch(jobs: list, runner, retries: int = 2, progress: bool = True, rerun: bool = False,
              desc: str = "batch") -> BatchResult:
    """Run ``jobs`` on ``runner`` (:mod:`core.batch.runners`); ``rerun``: run complete jobs again instead of
    skipping them. The runner is closed on return (after Ctrl-C, once its running jobs have stopped)."""
    outcomes = [JobOutcome(job, job_hash(job)) for job in jobs]
    bar = JobProgress(len(jobs), desc=desc, enabled=progress)
    queue: collections.deque = collections.deque()
    for outcome in outcomes:
        if not rerun and is_complete(outcome.job, outcome.hash):
            outcome.status = "skipped"
            bar.change("skipped")
        else:
            queue.append(outcome)
    pending: dict = {}
    interrupted = False
    try:
        while queue or pending:
            while queue and (runner.slots is None or len(pending) < runner.slots):
                outcome = queue.popleft()
                outcome.attempts += 1
                outcome.status = "running"
                pending[runner.submit(outcome.job, resume=outcome.attempts > 1)] = outcome
                bar.change("running")
            finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                outcome = pending.pop(future)
                bar.change("running", -1)
                status = _settle(outcome, _result(future), retries)
                if status == "retry":
                    queue.appendleft(outcome)  # resume it first, while its checkpoint is fresh
                    bar.change("retries")
                else:
                    bar.change(status)
        runner.close()
    except KeyboardInterrupt:
        runner.stop()
        for outcome in pending.values():
            outcome.status = "interrupted"
        for outcome in queue:
            outcome.status = "pending"
        interrupted = True
    finally:
        bar.close()
    return BatchResult(outcomes, interrupted)


def _settle(outcome: JobOutcome, result: AttemptResult, retries: int) -> str:
    """Record one finished attempt on ``outcome``; returns its new status, or ``"retry"``."""
    outcome.seconds += result.seconds
    outcome.exit_codes.append(result.exit_code)
    if result.host:
        outcome.hosts.append(result.host)
    job = outcome.job
    if result.exit_code == EXIT_OK and output_exists(job):
        stamp_report(job, outcome.hash, outcome.attempts)
        outcome.status, outcome.error = "done", None
        return outcome.status
    if result.exit_code == EXIT_OK:
        outcome.error = f"exited 0 but wrote no {job.output}"
    elif result.exit_code == EXIT_USER_ERROR:
        outcome.status, outcome.error = "failed", result.error or "user error (exit 2)"
        return outcome.status
    else:
        outcome.error = _crash_message(result)
    if outcome.attempts <= retries:
        return "retry"
    outcome.status = "failed"
    return outcome.status
