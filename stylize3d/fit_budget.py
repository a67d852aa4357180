"""A fit's wall-clock budget (``stylize fit --minutes``), the same for every representation that can be fitted.

A fit has ``steps`` and optionally a budget of ``minutes`` (seconds of fitting; held-out evaluations run inside
:meth:`FitBudget.paused` and are not counted). Its **progress** is the larger of the two fractions,
``max(step / steps, seconds / budget)``, capped at 1, and every schedule of the fit reads it: the learning-rate
decay and the coarse-to-fine upsampling of the fields, the SH degree, resolution, learning-rate and densification
schedules of the splats (through :meth:`FitBudget.schedule_step`, the step a step-counted schedule is at). So:

* when the budget binds (the steps would take longer), the schedules spread over the budget and reach their end
  as it runs out: the fit stops on its finest grid / full resolution at its final learning rate, with fewer steps.
  It stops at the end of the step during which the budget runs out, so it overruns by less than one step (the
  last step runs at a progress of at least ``1 − step time / budget``);
* when the steps lead all the way, the fit is exactly the step-scheduled one (as without a budget, where the
  schedule step is the step itself and resuming repeats an uninterrupted run draw for draw), and when they finish
  first :meth:`FitBudget.summary` says how much of the budget is left (``budget_left_s``), which the command
  prints.

We schedule by the elapsed fraction rather than by a step count estimated from the first steps' time because
step time changes through a fit (a grid upsampled 8x, Gaussians densified, training images 4x larger): an
estimate from the start would overshoot. A budgeted fit therefore depends on the machine's speed.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from typing import Callable, Optional

from core.errors import InputError

MINUTES_HELP = ("wall-clock budget of the fit in minutes (held-out evaluations not counted); when the steps would "
                "take longer, every schedule (learning rate, coarse-to-fine / densification, SH degree, resolution) "
                "is spread over the budget and ends with it; when they finish first, the report says how much "
                "was left (budget_left_s)")
"""Help of the ``minutes`` field of every fit config (one ``--minutes`` flag for all models)."""


def check_minutes(minutes: Optional[float]) -> None:
    """Refuse a budget that is not a positive number of minutes (None: no budget)."""
    if minutes is not None and not minutes > 0:
        raise InputError(f"--minutes must be positive, got {minutes}")


class FitBudget:
    """The seconds a fit has spent and where that puts its schedules (see the module docstring).

    ``clock``: the seconds that count (wall time by default; ``time.process_time`` counts this process's CPU time,
    a fake clock makes tests exact). ``seconds``: already spent by the run being resumed. Each reading of
    :attr:`seconds` reads the clock once."""

    def __init__(self, steps: int, minutes: Optional[float] = None, clock: Callable[[], float] = time.perf_counter,
                 seconds: float = 0.0):
        check_minutes(minutes)
        self.steps = max(int(steps), 1)
        self.limit = None if minutes is None else 60.0 * float(minutes)
        self.clock = clock
        self._origin = clock() - seconds

    @property
    def seconds(self) -> float:
        """Seconds of fitting so far (pauses left out, the resumed run's included)."""
        return self.clock() - self._origin

    def exhausted(self, seconds: float) -> bool:
        """Whether ``seconds`` of fitting use up the budget (never without one)."""
        return self.limit is not None and seconds >= self.limit

    def progress(self, step: int, seconds: float) -> float:
        """How far the fit is, in [0, 1]: the larger of ``step / steps`` and ``seconds / budget``."""
        done = step / self.steps
        if self.limit is not None:
            done = max(done, seconds / self.limit)
        return min(done, 1.0)

    def schedule_step(self, step: int, seconds: float) -> int:
        """The step a step-counted schedule (of ``steps`` steps) should be at after ``step`` steps and ``seconds``:
        ``step`` itself without a budget or while the steps lead, else ``floor(progress · steps)``."""
        if self.limit is None:
            return step
        return max(step, min(self.steps, math.floor(self.progress(step, seconds) * self.steps)))

    @contextlib.contextmanager
    def paused(self):
        """Time spent inside does not count (held-out evaluations)."""
        start = self.clock()
        try:
            yield
        finally:
            self._origin += self.clock() - start

    def summary(self, steps_done: int, seconds: float, interrupted: bool = False) -> dict:
        """What the report says about the budget after ``steps_done`` steps in ``seconds``: ``budget_s`` (None
        without a budget), ``budget_left_s`` (None without one), ``stopped_by`` (``"steps"``, ``"budget"`` or
        ``"interrupt"``) and ``schedule_progress`` (1.0 when the schedules reached their end)."""
        stopped_by = "interrupt" if interrupted else ("budget" if steps_done < self.steps and self.exhausted(seconds)
                                                      else "steps")
        left = None if self.limit is None else max(0.0, self.limit - seconds)
        return {"budget_s": self.limit, "budget_left_s": left, "stopped_by": stopped_by,
                "schedule_progress": self.progress(steps_done, seconds)}


def budget_note(summary: dict) -> Optional[str]:
    """The line a fit command prints about its budget (a :meth:`FitBudget.summary`): how much was left when the
    steps finished first, or that the budget ended the fit with its schedules complete; None without a budget
    or after an interruption."""
    budget = summary.get("budget_s")
    if budget is None or summary["stopped_by"] == "interrupt":
        return None
    if summary["stopped_by"] == "budget":
        return f"fit: the {budget / 60:g}-minute budget ran out; the schedules were spread over it and completed"
    return (f"fit: the steps finished with {summary['budget_left_s']:.0f} s of the {budget / 60:g}-minute budget "
            "left (raise --steps to use it)")


def say_budget(summary: dict, quiet: bool = False) -> None:
    """Print :func:`budget_note` (if any) to stderr unless ``quiet``."""
    note = budget_note(summary)
    if note and not quiet:
        print(note, file=sys.stderr)
