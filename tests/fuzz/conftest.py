"""Hypothesis profiles for the fuzz tests.

``stylize`` (default, ``make test``): few examples per reader, derandomized so every run tries the same inputs.
``fuzz`` (``make fuzz``, or ``HYPOTHESIS_PROFILE=fuzz``): 20x the examples (see ``harness.examples``), still
reproducible. Neither writes an example database into the repository. Each example has a 30 s deadline
(generous: examples take 1-100 ms, but the suite runs on loaded 2-core machines); the harness' watchdog
catches real hangs.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(derandomize=True, database=None, deadline=30_000, print_blob=False,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("stylize", max_examples=10, **_COMMON)
settings.register_profile("fuzz", max_examples=200, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "stylize"))
