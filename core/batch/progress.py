"""One progress bar over the jobs of a batch: finished / total with ETA, and done, running, failed, skipped."""

from __future__ import annotations

from tqdm.auto import tqdm


class JobProgress:
    """A tqdm bar counting finished jobs (done, failed or skipped) with the live counts as its postfix."""

    def __init__(self, total: int, desc: str = "batch", enabled: bool = True):
        self.counts = {"done": 0, "running": 0, "failed": 0, "skipped": 0, "retries": 0}
        self._bar = tqdm(total=total, unit="job", desc=desc, disable=not enabled, dynamic_ncols=True)

    def change(self, status: str, delta: int = 1) -> None:
        """Add ``delta`` to the count of ``status``; finished statuses advance the bar."""
        self.counts[status] += delta
        if status in ("done", "failed", "skipped"):
            self._bar.update(delta)
        self._bar.set_postfix({k: v for k, v in self.counts.items() if v or k != "retries"}, refresh=True)

    def close(self) -> None:
        self._bar.close()
