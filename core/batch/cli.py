"""``stylize batch JOBS.yaml``: run many stylize jobs on local worker processes or a Ray cluster.

Also the runner options (``--workers``, ``--ray``, ``--retries``) and :func:`make_runner`, which
``stylize video --segments`` shares.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.batch.driver import BatchResult, run_batch
from core.batch.jobs import load_jobs
from core.batch.runners import RAY_FORMS, LocalRunner, RayRunner
from core.cli import EXIT_USAGE, add_command, run_job
from core.commands import COMMANDS
from core.errors import InputError


def add_runner_options(parser, workers_help: str = "local worker processes (default: the core count divided by "
                                                    "the jobs' num_cpus)") -> None:
    """``--workers N``, ``--ray [local|auto|ADDRESS]`` and ``--retries N``, spelled the same wherever jobs run."""
    group = parser.add_argument_group("where jobs run")
    group.add_argument("--workers", type=int, default=None, metavar="N", help=workers_help)
    group.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS",
                       help="run the jobs as Ray tasks: 'auto' (the default when the flag is bare) joins the running "
                            "cluster (RAY_ADDRESS, or `ray start --head` on this machine), 'local' starts a private "
                            "one here, else a cluster address (needs the [cluster] extra)")
    group.add_argument("--retries", type=int, default=2, metavar="N",
                       help="times a job whose worker died is retried (it resumes from its checkpoint); user errors "
                            "(exit 2) are not retried")


def default_workers(jobs: list) -> int:
    """The core count divided by the largest ``num_cpus`` any job declares (at least 1)."""
    per_job = max([max(1.0, job.num_cpus) for job in jobs] or [1.0])
    return max(1, int((os.cpu_count() or 1) // per_job))


def make_runner(args, jobs: list):
    """The runner the options ask for: :class:`RayRunner` with ``--ray``, else :class:`LocalRunner`."""
    if args.retries < 0:
        raise InputError(f"--retries {args.retries}: need at least 0")
    if args.ray is not None:
        if not args.ray.strip():
            raise InputError(f"--ray needs {' or '.join(RAY_FORMS)} or a cluster address")
        return RayRunner(args.ray, num_cpus=args.workers)
    return LocalRunner(args.workers or default_workers(jobs))


def register(subparsers) -> None:
    p = add_command(subparsers, "batch", COMMANDS["batch"].help,
                    description="Run every job of JOBS (.yaml/.yml, .json or .csv; format: core/batch/jobs.py) as its own\n"
                                "`stylize` process, on local workers or a Ray cluster. Each job writes OUTPUT and OUTPUT.json\n"
                                "(its report); jobs whose output and report are complete and whose arguments are unchanged\n"
                                "are skipped. A job whose worker dies is retried and resumes from its checkpoint; a job with\n"
                                "a user error is reported, not retried (the batch then exits 2).\n\n"
                                "example: stylize batch jobs.yaml --workers 2 --gallery\n"
                                "         ray start --head && stylize batch jobs.yaml --ray auto")
    p.add_argument("jobs", metavar="JOBS", help="job file: .yaml/.yml, .json or .csv")
    add_runner_options(p)
    p.add_argument("--rerun", action="store_true", help="run complete jobs again instead of skipping them")
    p.add_argument("--gallery", action="store_true",
                   help="afterwards write index.html (stylize gallery) in the folder holding the job reports")
    p.add_argument("--report", metavar="FILE.json", default=None,
                   help="the batch report: per job status, attempts, seconds, hash, error (default: JOBS.report.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    jobs = load_jobs(args.jobs)
    if args.report is None:
        args.report = str(Path(args.jobs).with_name(Path(args.jobs).name + ".report.json"))
    return run_job(args, "batch", lambda job: _run(job, jobs))


def _run(job, jobs: list) -> int:
    args, report = job.args, job.report
    runner = make_runner(args, jobs)
    with report.phase("jobs"):
        result = run_batch(jobs, runner, retries=args.retries, progress=job.progress, rerun=args.rerun)
    report.inputs = [args.jobs]
    report.outputs = [o.job.output for o in result.outcomes if o.status in ("done", "skipped")]
    report.metrics = {"runner": runner.description, "counts": result.counts(),
                      "jobs": [o.to_dict() for o in result.outcomes]}
    if args.gallery and not result.interrupted:
        report.outputs.append(str(_write_gallery(jobs)))
    print(summary(result), flush=True)
    if result.interrupted:
        return job.interrupted("finished jobs are kept; running ones kept their checkpoints")
    return EXIT_USAGE if result.failed() else 0


def summary(result: BatchResult) -> str:
    """``stylize batch: 7 done, 1 failed (...)``: the counts and each failed job's one-line error."""
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts().items()))
    lines = [f"stylize batch: {counts}"]
    lines += [f"  job {o.job.name} failed after {o.attempts} attempt(s): {o.error}" for o in result.failed()]
    return "\n".join(lines)


def _write_gallery(jobs: list) -> Path:
    from core.gallery import write_gallery
    from core.gallery_results import results_sections

    root = Path(os.path.commonpath([str(j.path(j.report).resolve().parent) for j in jobs]))
    sections = results_sections(root)
    if not sections:
        raise InputError(f"{root} holds no finished job report; no gallery written")
    return write_gallery(root, sections, f"Batch results in {root.name}")
