"""Where batch attempts run. Both runners return :class:`concurrent.futures.Future` s of
:class:`~core.batch.attempt.AttemptResult`, so the driver (:mod:`core.batch.driver`) treats them alike.

- :class:`LocalRunner`: ``workers`` threads on this machine, each driving one ``stylize`` subprocess at a time.
- :class:`RayRunner`: each attempt is a Ray task declaring the job's ``num_cpus``/``num_gpus``; Ray places it on
  a node with those resources free (GPU jobs on GPU nodes) and sets ``CUDA_VISIBLE_DEVICES`` for it. Every
  node must see the job folder under the same path (a shared file system) and have the toolkit installed.

A future that raises (a Ray worker or node lost) is a crashed attempt; the driver retries it.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Optional

from core.batch.attempt import run_attempt
from core.batch.jobs import BatchJob
from core.errors import InputError

RAY_FORMS = ("local", "auto")
"""``--ray local``: start a private Ray instance on this machine; ``--ray auto``: join the running cluster
(``RAY_ADDRESS`` or the one ``ray start --head`` made here); anything else is a cluster address."""


class LocalRunner:
    """Attempts as subprocesses on this machine, at most ``workers`` at a time."""

    def __init__(self, workers: int):
        if workers < 1:
            raise InputError(f"--workers {workers}: need at least 1")
        self.slots: Optional[int] = workers
        self.description = f"{workers} local worker{'s' if workers > 1 else ''}"
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stylize-batch")
        self._running: set = set()
        self._lock = threading.Lock()

    def submit(self, job: BatchJob, resume: bool) -> concurrent.futures.Future:
        return self._pool.submit(self._attempt, job, resume)

    def _attempt(self, job: BatchJob, resume: bool):
        processes = []

        def track(process):
            processes.append(process)
            with self._lock:
                self._running.add(process)

        try:
            return run_attempt(job, resume, on_start=track)
        finally:
            with self._lock:
                self._running.difference_update(processes)

    def stop(self) -> None:
        """Ask every running job to stop (SIGTERM: each keeps its best result and checkpoint) and wait."""
        with self._lock:
            for process in self._running:
                process.terminate()
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayRunner:
    """Attempts as Ray tasks (see the module docstring); ``address`` is one of :data:`RAY_FORMS` or an address.

    When Ray is already initialised in this process (a test, a notebook), that connection is used as it is."""

    def __init__(self, address: str = "auto", num_cpus: Optional[int] = None):
        try:
            import ray
        except ImportError:
            raise InputError("--ray needs Ray: pip install 'stylize-beyond[cluster]' (or: pip install 'ray[default]')") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False}
            if address == "local":
                options.update(address="local", num_cpus=num_cpus)
            else:
                options["address"] = address
            try:
                ray.init(**options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(f"--ray {address}: cannot reach a Ray cluster ({' '.join(str(exc).split())[:200]})") from None
            self._started = True
        self.slots: Optional[int] = None  # Ray queues tasks by their declared resources
        cpus = ray.cluster_resources().get("CPU", 0)
        gpus = ray.cluster_resources().get("GPU", 0)
        self.description = f"Ray ({cpus:g} CPUs, {gpus:g} GPUs)"
        self._task = ray.remote(run_attempt)
        self._refs: dict = {}

    def submit(self, job: BatchJob, resume: bool) -> concurrent.futures.Future:
        ref = self._task.options(num_cpus=job.num_cpus, num_gpus=job.num_gpus, max_retries=0,
                                 name=f"stylize {job.command} {job.name}").remote(job, resume)
        future = ref.future()
        self._refs[future] = ref
        future.add_done_callback(lambda f: self._refs.pop(f, None))
        return future

    def stop(self) -> None:
        """Cancel the queued and running tasks (a running job is interrupted and keeps its checkpoint)."""
        for ref in list(self._refs.values()):
            self._ray.cancel(ref)
        self.close()

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False
