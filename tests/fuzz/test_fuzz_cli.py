"""Every command handed a hostile file, in a real subprocess: exit code 2, exactly one line on stderr, no
traceback, nothing written. The ten runs start together (about 3 s of imports each) and are checked one by one."""

import copy
import json
import os
import subprocess
import sys

import pytest

from tests.fuzz.harness import PROFILE, REPO, SCENES
from tests.fuzz.test_fuzz_cameras import transforms_doc, viewer_doc
from tests.fuzz.test_fuzz_media import _png_with_size, image_seeds, video_seeds
from tests.fuzz.test_fuzz_ply import seeds as ply_seeds

PLY = SCENES / "splats" / "sample_scene.ply"
STYLE = SCENES / "images" / "starry_night.jpg"
SVG_NS = "http://www.w3.org/2000/svg"


def _hostile_files(folder) -> dict:
    """name -> path of each generated hostile input."""
    files = {}

    def put(name, data):
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        files[name] = path

    le = ply_seeds()["le"]
    put("negative.ply", le.replace(b"element vertex 48", b"element vertex -5"))
    nan_rows = bytearray(le)
    body = le.index(b"end_header\n") + len(b"end_header\n")
    nan_rows[body:] = b"\xff" * (len(le) - body)  # every float is a NaN
    put("all_nan.ply", bytes(nan_rows))
    blender = {"camera_angle_x": 0, "w": 256, "h": 256,
               "frames": [{"transform_matrix": f["transform_matrix"]} for f in transforms_doc()["frames"]]}
    put("angle_zero.json", json.dumps(blender))
    huge = copy.deepcopy(transforms_doc())
    for frame in huge["frames"]:
        frame["w"] = frame["h"] = 10 ** 9
    put("huge_size.json", json.dumps(huge))
    viewer = copy.deepcopy(viewer_doc())
    viewer["render_width"] = 10 ** 9
    put("huge_path.json", json.dumps(viewer))
    defs = '<rect id="l0" width="1" height="1"/>' + "".join(
        f'<g id="l{i}">' + f'<use href="#l{i - 1}"/>' * 10 + "</g>" for i in range(1, 11))
    put("use_bomb.svg", f'<svg xmlns="{SVG_NS}" width="9" height="9"><defs>{defs}</defs><use href="#l10"/></svg>')
    put("bad_encoding.svg", f'<?xml version="1.0" encoding="UTF0"?><svg xmlns="{SVG_NS}" width="9" height="9"/>')
    put("truncated.jpg", image_seeds()["jpeg"][:200])
    put("huge.png", _png_with_size(100_000, 100_000))
    mp4 = video_seeds()["mp4"]
    put("broken.mp4", mp4[:64] + bytes(len(mp4) - 64))
    put("deep.svg", f'<svg xmlns="{SVG_NS}" width="9" height="9">' + "<g>" * 5000 + "</g>" * 5000 + "</svg>")
    return files


# (case id, argv after "stylize" with {name} placeholders for inputs and {out} for the output path)
CASES = [
    ("render-negative-count", ["render", "{negative.ply}", "-o", "{out}/o.mp4", "--frames", "2", "--size", "16"]),
    ("render-huge-camera-size", ["render", str(PLY), "-o", "{out}/o.mp4", "--cameras", "{huge_size.json}", "--frames", "2"]),
    ("scene-camera-angle-zero", ["scene", str(PLY), str(STYLE), "-o", "{out}/scene", "--cameras", "{angle_zero.json}",
                                 "--steps", "1"]),
    ("metrics-3d-all-nan", ["metrics-3d", str(PLY), "{all_nan.ply}", "--frames", "8", "--long-range", "2"]),
    ("svg-use-bomb", ["svg", "{use_bomb.svg}", str(STYLE), "-o", "{out}/o.svg", "--steps", "1"]),
    ("svg-render-bad-encoding", ["svg-render", "{bad_encoding.svg}", "-o", "{out}/o.png"]),
    ("image-truncated-jpeg", ["image", "{truncated.jpg}", str(STYLE), "-o", "{out}/o.png", "--steps", "1"]),
    ("image-huge-style", ["image", str(SCENES / "images" / "cat.png"), "{huge.png}", "-o", "{out}/o.png", "--steps", "1"]),
    ("video-broken-mp4", ["video", "{broken.mp4}", str(STYLE), "-o", "{out}/o.mp4", "--steps", "1"]),
    ("metrics-huge-image", ["metrics", "{huge.png}", "--content", str(STYLE), "--style", str(STYLE)]),
]
SLOW_CASES = [
    ("render-huge-viewer-path", ["render", str(PLY), "-o", "{out}/o.mp4", "--path", "{huge_path.json}"]),
    ("svg-render-deep-nesting", ["svg-render", "{deep.svg}", "-o", "{out}/o.png"]),
]


def _argv(template, files, out):
    def fill(word):
        for name, path in files.items():
            word = word.replace("{" + name + "}", str(path))
        return word.replace("{out}", str(out))

    return [fill(w) for w in template]


def _launch(cases, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    files = _hostile_files(folder)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    runs = {}
    for case, template in cases:
        out = tmp_path_factory.mktemp(case)
        proc = subprocess.Popen([sys.executable, "-m", "core.cli", *_argv(template, files, out), "--device", "cpu"]
                                if template[0] != "metrics" else
                                [sys.executable, "-m", "core.cli", *_argv(template, files, out)],
                                cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs[case] = (proc, out)
    results = {}
    for case, (proc, out) in runs.items():
        stdout, stderr = proc.communicate(timeout=300)
        results[case] = (proc.returncode, stdout, stderr, out)
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return _launch(CASES, tmp_path_factory)


def _check(case, returncode, stdout, stderr, out):
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, f"{case}: {stderr}"
    assert returncode == 2, f"{case}: exit {returncode}, stderr: {stderr}"
    assert len(lines) == 1 and lines[0].startswith("stylize "), f"{case}: stderr is not one line: {stderr!r}"
    left = [p.relative_to(out) for p in out.rglob("*")]
    assert not left, f"{case}: left behind {left}"


@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_command_refuses_hostile_file(results, case):
    _check(case, *results[case])


def test_refusals_name_the_problem(results):
    assert "negative count (-5)" in results["render-negative-count"][2]
    assert "w=1000000000" in results["render-huge-camera-size"][2]
    assert "camera_angle_x=0 must be in (0, pi)" in results["scene-camera-angle-zero"][2]
    assert "elements drawn through <use> references" in results["svg-use-bomb"][2]


@pytest.mark.slow
@pytest.mark.skipif(PROFILE != "fuzz", reason="two more subprocesses: run by make fuzz (HYPOTHESIS_PROFILE=fuzz)")
def test_slow_cases(tmp_path_factory):
    for case, result in _launch(SLOW_CASES, tmp_path_factory).items():
        _check(case, *result)
