"""The job file of ``stylize batch`` (YAML/JSON/CSV, globs, placeholders) and the skip-on-rerun hash."""

import dataclasses
import json
import os

import pytest

from core.batch.jobs import load_jobs
from core.batch.state import is_complete, job_hash, stamp_report
from core.errors import InputError


@pytest.fixture
def photos(tmp_path):
    (tmp_path / "photos").mkdir()
    for name in ("b.jpg", "a.jpg", "notes.txt"):
        (tmp_path / "photos" / name).write_text(name)
    (tmp_path / "style.png").write_text("style")
    return tmp_path


def test_yaml_glob_expands_to_one_job_per_file_with_placeholders_defaults_and_options(photos):
    (photos / "jobs.yaml").write_text("""
defaults: {num_cpus: 2}
jobs:
  - command: image
    inputs: photos/*.jpg
    args: ["{input}", style.png]
    options: {size: 256, preserve_color: true, tv_weight: null, blend: [1, 2]}
    output: out/{stem}.png
  - command: video
    args: clip.mp4 style.png --segments 4
    output: out/clip.mp4
    report: out/clip-report.json
    num_gpus: 1
""")
    jobs = load_jobs(photos / "jobs.yaml")
    assert [j.name for j in jobs] == ["1:a.jpg", "1:b.jpg", "2"]
    assert jobs[0].argv() == ["image", "photos/a.jpg", "style.png", "--size", "256", "--preserve-color",
                              "--blend", "1", "2", "-o", "out/a.png", "--report", "out/a.png.json"]
    assert jobs[2].argv() == ["video", "clip.mp4", "style.png", "--segments", "4", "-o", "out/clip.mp4",
                              "--report", "out/clip-report.json"]
    assert (jobs[0].num_cpus, jobs[0].num_gpus, jobs[2].num_cpus, jobs[2].num_gpus) == (2, 0, 2, 1)
    assert {j.cwd for j in jobs} == {str(photos.resolve())}


def test_json_list_and_csv_rows_give_the_same_job(photos):
    (photos / "jobs.json").write_text(json.dumps([{"command": "image", "args": ["photos/a.jpg", "style.png"],
                                                   "options": {"size": 64}, "output": "o.png"}]))
    (photos / "jobs.csv").write_text("command,args,size,output,num_cpus\nimage,photos/a.jpg style.png,64,o.png,\n")
    from_json, from_csv = load_jobs(photos / "jobs.json"), load_jobs(photos / "jobs.csv")
    assert from_json == from_csv and from_csv[0].num_gpus == 0
    (photos / "gpu.csv").write_text("command,args,output\nimage,a.jpg s.png --device cuda,o.png\n")
    assert load_jobs(photos / "gpu.csv")[0].num_gpus == 1  # a CUDA job declares a GPU unless it says otherwise
    assert from_csv[0].argv()[:5] == ["image", "photos/a.jpg", "style.png", "--size", "64"]


@pytest.mark.parametrize("text,message", [
    ("jobs:\n  - {command: image, args: [a.jpg]}\n", "needs 'command' and 'output'"),
    ("jobs:\n  - {command: image, output: o.png, colour: red}\n", "unknown key(s) colour"),
    ("jobs:\n  - {command: image, inputs: 'none/*.jpg', output: '{stem}.png'}\n", "matches no file"),
    ("jobs:\n  - {command: image, output: '{stem}.png'}\n", "has no 'inputs' glob"),
    ("jobs:\n  - {command: image, output: o.png}\n  - {command: video, output: ./o.png}\n", "jobs 1 and 2 both write ./o.png"),
    ("jobs:\n  - {command: image, output: o.png, num_cpus: lots}\n", "num_cpus must be a number"),
    ("jobs: [unclosed\n", "not valid YAML"),
    ("things: []\n", "unknown top-level key(s) things"),
    ("jobs: []\n", "holds no job"),
])
def test_bad_job_files_are_one_line_input_errors(tmp_path, text, message):
    (tmp_path / "jobs.yaml").write_text(text)
    with pytest.raises(InputError) as error:
        load_jobs(tmp_path / "jobs.yaml")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "jobs.toml").write_text("")
    with pytest.raises(InputError, match="must end in .yaml"):
        load_jobs(tmp_path / "jobs.toml")
    with pytest.raises(InputError, match="job file not found"):
        load_jobs(tmp_path / "nothing.yaml")


def test_hash_follows_arguments_and_input_files_but_not_the_jobs_own_output(photos):
    (photos / "jobs.yaml").write_text("jobs:\n  - {command: image, args: [photos/a.jpg, style.png], output: o.png}\n"
                                      "  - {command: image, args: [photos/a.jpg, style.png, --size, '8'], output: p.png}\n")
    first, other = load_jobs(photos / "jobs.yaml")
    digest = job_hash(first)
    assert job_hash(other) != digest
    assert job_hash(dataclasses.replace(first, args=first.args + ("--resume",))) == digest
    (photos / "o.png").write_text("result")  # the job's own output appearing does not change its hash
    assert job_hash(first) == digest
    os.utime(photos / "style.png", ns=(1, 1))  # touching an input does
    assert job_hash(first) != digest


def test_a_job_is_complete_only_with_stamped_report_and_every_output(photos):
    (photos / "jobs.yaml").write_text("jobs:\n  - {command: image, args: [photos/a.jpg], output: o.png}\n")
    job, = load_jobs(photos / "jobs.yaml")
    digest = job_hash(job)
    assert not stamp_report(job, digest, 1) and not is_complete(job, digest)  # no report yet
    (photos / "o.png").write_text("result")
    (photos / "o.png.json").write_text(json.dumps({"command": "image", "outputs": ["o.png", "extra.png"]}))
    assert stamp_report(job, digest, 3)
    assert json.loads((photos / "o.png.json").read_text())["batch"] == {"hash": digest, "attempts": 3}
    assert not is_complete(job, digest)  # extra.png, listed in the report, is missing
    (photos / "extra.png").write_text("x")
    assert is_complete(job, digest) and not is_complete(job, "another hash")
