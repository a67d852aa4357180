"""``stylize batch`` on local workers and on a local Ray cluster: results, user errors, a killed worker.

The jobs are a tiny plug-in command, ``stylize tick``, installed for the test through the entry-point group
``stylize.commands`` (the toolkit's own plug-in contract): it counts ``--steps`` steps of ``--delay`` seconds
each, checkpoints after every step, resumes with ``--resume``, writes its output and a report, and exits 2
for a negative SEED. It imports no torch, so a job starts in a fraction of a second. Real ``stylize image``
jobs run in the CLI test and in one kill-and-resume test.
"""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from core.batch.attempt import last_error
from core.batch.driver import run_batch
from core.batch.jobs import load_jobs
from core.batch.runners import LocalRunner
from core.cli import main

PLUGIN = '''
import json, os, time
from pathlib import Path

from core.atomic import atomic_output
from core.errors import InputError

COMMANDS = {"tick": ("count SEED forward --steps times, checkpointed (test plug-in)", "tick_plugin:register")}


def register(subparsers):
    from core.cli import add_command

    p = add_command(subparsers, "tick", COMMANDS["tick"][0])
    p.add_argument("seed", type=int)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--report", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--crash", action="store_true", help="fail with a traceback (a bug, exit 1)")
    p.set_defaults(func=run)


def run(args):
    if args.seed < 0:
        raise InputError(f"SEED {args.seed} must be >= 0")
    if args.crash:
        raise RuntimeError("boom")
    out = Path(args.output)
    ckpt = out.with_name("." + out.name + ".ckpt")
    Path(str(out) + ".pid").write_text(str(os.getpid()))
    state = json.loads(ckpt.read_text()) if args.resume and ckpt.exists() else {"step": 0, "value": args.seed}
    resumed_at = state["step"]
    while state["step"] < args.steps:
        time.sleep(args.delay)
        state = {"step": state["step"] + 1, "value": (state["value"] * 1103515245 + 12345) % 2 ** 31}
        with atomic_output(ckpt) as tmp:
            tmp.write_text(json.dumps(state))
    with atomic_output(out) as tmp:
        tmp.write_text(str(state["value"]))
    ckpt.unlink()
    if args.report:
        report = {"command": "tick", "args": {"seed": args.seed}, "inputs": [], "outputs": [args.output],
                  "timings": {"total_s": 0.0}, "metrics": {"resumed_at": resumed_at}}
        with atomic_output(Path(args.report)) as tmp:
            tmp.write_text(json.dumps(report))
    return 0
'''


def expected_value(seed: int, steps: int) -> str:
    value = seed
    for _ in range(steps):
        value = (value * 1103515245 + 12345) % 2 ** 31
    return str(value)


@pytest.fixture(scope="module", autouse=True)
def tick_plugin(tmp_path_factory):
    """Install ``stylize tick`` for child processes (PYTHONPATH) and for this process (sys.path)."""
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "tick_plugin.py").write_text(PLUGIN)
    info = folder / "tick_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tick-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[stylize.commands]\ntick = tick_plugin:COMMANDS\n")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(folder), *([old] if old else [])])
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    if old is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def ray_cluster(tick_plugin):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'stylize-beyond[cluster]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def make_runner(where: str):
    """A runner factory: two local workers, or the test's Ray cluster."""
    if where == "local":
        return lambda: LocalRunner(workers=2)
    from core.batch.runners import RayRunner

    return lambda: RayRunner("auto")


@pytest.fixture(params=["local", "ray"])
def runner(request):
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return make_runner(request.param)


def write_jobs(folder: Path, jobs: list) -> Path:
    path = folder / "jobs.json"
    path.write_text(json.dumps({"jobs": jobs}))
    return path


def tick(seed, output, steps=3, delay=0.0):
    return {"command": "tick", "args": [str(seed)], "options": {"steps": steps, "delay": delay}, "output": output}


def test_jobs_finish_a_user_error_is_reported_once_and_a_rerun_skips_finished_jobs(tmp_path, runner):
    path = write_jobs(tmp_path, [tick(1, "out/a.txt"), tick(-1, "out/bad.txt"), tick(2, "out/b.txt"),
                                 tick(3, "out/c.txt")])
    result = run_batch(load_jobs(path), runner(), retries=2, progress=False)
    by_name = {o.job.output: o for o in result.outcomes}
    assert result.counts() == {"done": 3, "failed": 1}
    for seed, name in ((1, "a"), (2, "b"), (3, "c")):
        assert (tmp_path / f"out/{name}.txt").read_text() == expected_value(seed, 3)
        report = json.loads((tmp_path / f"out/{name}.txt.json").read_text())
        assert report["batch"] == {"hash": by_name[f"out/{name}.txt"].hash, "attempts": 1}
    bad = by_name["out/bad.txt"]
    assert (bad.attempts, bad.exit_codes) == (1, [2])  # a user error is not retried
    assert bad.error == "stylize tick: error: SEED -1 must be >= 0"
    assert "SEED -1 must be >= 0" in Path(bad.to_dict()["log"]).read_text()  # the full output is kept
    assert not (tmp_path / "out/bad.txt").exists()

    again = run_batch(load_jobs(path), runner(), retries=2, progress=False)
    assert again.counts() == {"skipped": 3, "failed": 1}
    assert [o.attempts for o in again.outcomes] == [0, 1, 0, 0]


def _kill_when_running(pid_file: Path, checkpoint: Path, kill_parent: bool, killed: list) -> None:
    """Once the job has checkpointed a step, SIGKILL it (or the worker that started it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (pid_file.exists() and checkpoint.exists()):
        time.sleep(0.02)
    pid = int(pid_file.read_text())
    if kill_parent:
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.kill(pid, signal.SIGKILL)
    killed.append(pid)


@pytest.mark.parametrize("where,kill_parent", [("local", False), ("ray", False), ("ray", True)],
                         ids=["local-job-killed", "ray-job-killed", "ray-worker-killed"])
def test_a_killed_job_is_retried_resumes_and_ends_like_an_uninterrupted_run(tmp_path, request, where, kill_parent):
    """SIGKILL the job's process (local: the worker *is* that process), or the Ray worker running it."""
    if where == "ray":
        request.getfixturevalue("ray_cluster")
    runner = make_runner(where)
    steps = 30
    path = write_jobs(tmp_path, [tick(5, "killed.txt", steps, 0.05), tick(5, "whole.txt", steps, 0.05)])
    killed: list = []
    killer = threading.Thread(target=_kill_when_running, args=(tmp_path / "killed.txt.pid",
                                                               tmp_path / ".killed.txt.ckpt", kill_parent, killed))
    killer.start()
    result = run_batch(load_jobs(path), runner(), retries=2, progress=False)
    killer.join()
    assert killed, "the job was never seen running"
    first, whole = result.outcomes
    assert (first.status, whole.status) == ("done", "done")
    # a killed job process exits by SIGKILL; a killed Ray worker loses the task (the job dies with it)
    assert first.attempts == 2 and first.exit_codes == [None if kill_parent else -signal.SIGKILL, 0]
    assert (tmp_path / "killed.txt").read_text() == (tmp_path / "whole.txt").read_text() == expected_value(5, steps)
    resumed_at = json.loads((tmp_path / "killed.txt.json").read_text())["metrics"]["resumed_at"]
    assert 0 < resumed_at < steps  # the retry continued from the job's checkpoint
    assert not list(tmp_path.glob(".*.part*"))  # nothing half-written left behind


def _job_pid(output_name: str) -> "int | None":
    """The pid of the batch child process whose command line names ``output_name`` (scanning /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"core.batch.child" in words and output_name.encode() in words:
            return int(cmdline.parent.name)
    return None


@pytest.mark.slow
def test_a_killed_real_image_job_resumes_from_its_checkpoint_to_the_same_png(tmp_path, content_png, style_png):
    """``stylize image`` checkpoints every 25 steps: SIGKILL it after the first, the retry continues from step 25."""
    job = {"command": "image", "args": [content_png.name, style_png.name], "options": {"size": 32, "steps": 60}}
    path = write_jobs(tmp_path, [{**job, "output": "killed.png"}, {**job, "output": "whole.png"}])
    killed: list = []

    def kill_after_checkpoint():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (tmp_path / ".killed.png.ckpt").exists():
            time.sleep(0.02)
        pid = _job_pid("killed.png")
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    killer = threading.Thread(target=kill_after_checkpoint)
    killer.start()
    first, whole = run_batch(load_jobs(path), LocalRunner(2), retries=2, progress=False).outcomes
    killer.join()
    assert killed and first.exit_codes == [-signal.SIGKILL, 0] and whole.exit_codes == [0]
    steps = json.loads((tmp_path / "killed.png.json").read_text())["timings"]["steps"]
    assert steps == 35  # the retry ran only the steps after the checkpoint at 25
    assert (tmp_path / "killed.png").read_bytes() == (tmp_path / "whole.png").read_bytes()
    assert not (tmp_path / ".killed.png.ckpt").exists()


def test_a_job_that_keeps_crashing_fails_after_its_retries(tmp_path):
    path = write_jobs(tmp_path, [{**tick(1, "a.txt", steps=1), "args": ["1", "--crash"]}])
    outcome, = run_batch(load_jobs(path), LocalRunner(1), retries=1, progress=False).outcomes
    assert (outcome.status, outcome.attempts, outcome.exit_codes) == ("failed", 2, [1, 1])
    assert outcome.error == "RuntimeError: boom"


def test_last_error_picks_the_one_line_user_error():
    log = "notice: downscaled\nstylize image: error: a.png: file not found\ntrailing line\n"
    assert last_error(log) == "stylize image: error: a.png: file not found"
    assert last_error("Traceback...\nZeroDivisionError: division by zero\n") == "ZeroDivisionError: division by zero"
    assert last_error("") is None


def test_cli_runs_a_real_image_job_writes_batch_report_and_gallery(tmp_path, content_png, style_png, capsys):
    path = tmp_path / "jobs.yaml"
    path.write_text(f"""
jobs:
  - command: image
    args: [{content_png.name}, {style_png.name}]
    options: {{size: 32, steps: 2}}
    output: out/photo.png
  - command: image
    args: [missing.png, {style_png.name}]
    output: out/missing.png
""")
    assert main(["batch", str(path), "--workers", "2", "--gallery", "--quiet"]) == 2
    printed = capsys.readouterr().out
    assert "1 done, 1 failed" in printed and "stylize image: error: missing.png: file not found" in printed
    batch = json.loads((tmp_path / "jobs.yaml.report.json").read_text())
    assert batch["command"] == "batch" and batch["metrics"]["counts"] == {"done": 1, "failed": 1}
    jobs = {j["output"]: j for j in batch["metrics"]["jobs"]}
    assert jobs["out/photo.png"]["status"] == "done" and jobs["out/missing.png"]["attempts"] == 1
    assert (tmp_path / "out/photo.png").stat().st_size > 0 and (tmp_path / "out/index.html").exists()
    image_report = json.loads((tmp_path / "out/photo.png.json").read_text())
    assert image_report["command"] == "image" and image_report["batch"]["hash"] == jobs["out/photo.png"]["hash"]

    assert main(["batch", str(path), "--workers", "2", "--quiet"]) == 2  # rerun: the image is skipped
    assert "1 failed, 1 skipped" in capsys.readouterr().out


def test_cli_without_ray_installed_or_with_bad_options_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    path = write_jobs(tmp_path, [tick(1, "a.txt")])
    assert main(["batch", str(path), "--retries", "-1", "--quiet"]) == 2
    assert "--retries -1: need at least 0" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    assert main(["batch", str(path), "--ray", "--quiet"]) == 2
    assert "--ray needs Ray: pip install 'stylize-beyond[cluster]'" in capsys.readouterr().err
