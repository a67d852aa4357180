"""Many ``stylize`` jobs at once: ``stylize batch JOBS.yaml`` on local worker processes or a Ray cluster.

- :mod:`core.batch.jobs`: the job file (YAML, JSON or CSV; globs expand to one job per file) → :class:`BatchJob`.
- :mod:`core.batch.state`: each job's argument hash, the skip-on-rerun check, the stamp in the job's report.
- :mod:`core.batch.attempt` / :mod:`core.batch.child`: one attempt = one ``stylize`` subprocess (crash isolation;
  dies with its worker).
- :mod:`core.batch.runners`: where attempts run — local worker threads each driving a subprocess, or Ray tasks.
- :mod:`core.batch.driver`: submit, retry (with ``--resume``) and collect; :mod:`core.batch.progress` the bar.
- :mod:`core.batch.cli`: the ``stylize batch`` command and the runner options ``stylize video --segments`` reuses.

Nothing here imports torch or Ray at import time.
"""
