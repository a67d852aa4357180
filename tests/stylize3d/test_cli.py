"""The splat commands end to end on tiny inputs, and their one-line errors (exit 2, nothing written)."""

import json

import av
import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from stylize3d.camera_paths import orbit
from stylize3d.datasets.transforms_json import transforms_dict
from stylize3d.splats.ply import read_ply, write_ply


@pytest.fixture
def scene_ply(tmp_path, make_scene):
    scene = make_scene(n=200, degree=1, seed=11, spread=0.6)
    scene.opacity_logits.fill_(2.0)
    write_ply(scene, tmp_path / "scene.ply")
    return tmp_path / "scene.ply"


def _frames(path):
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return len(frames), frames[0].shape


def test_scene_command_writes_every_output(scene_ply, style_png, tmp_path):
    out = tmp_path / "out"
    report = tmp_path / "r.json"
    code = main(["scene", str(scene_ply), str(style_png), "-o", str(out), "--orbit", "3", "--steps", "2",
                 "--size", "32", "--video-frames", "3", "--quiet", "--report", str(report)])
    assert code == 0
    original, stylized = read_ply(scene_ply), read_ply(out / "scene_stylized.ply")
    assert torch.equal(stylized.means, original.means) and stylized.sh_degree == 1
    assert not torch.equal(stylized.sh, original.sh)
    assert sorted(p.name for p in (out / "views").iterdir()) == ["view_00.png", "view_01.png", "view_02.png"]
    assert Image.open(out / "views" / "view_00.png").size == (64, 32)  # original | stylized
    assert _frames(out / "orbit.mp4") == (3, (32, 32, 3))
    assert _frames(out / "side_by_side.mp4") == (3, (32, 64, 3))
    data = json.loads(report.read_text())
    assert data["command"] == "scene" and data["timings"]["steps"] == 2
    assert len(data["metrics"]["colour_maps"]) == 2 and "style" in data["metrics"]["final"]
    assert json.loads((out / "report.json").read_text())["outputs"] == data["outputs"]
    assert not (out / ".stylize3d_checkpoint.pt").exists()


def test_render_command_and_camera_path_json(scene_ply, tmp_path):
    video, path_json = tmp_path / "o.mp4", tmp_path / "path.json"
    assert main(["render", str(scene_ply), "-o", str(video), "--frames", "4", "--size", "40",
                 "--save-path", str(path_json), "--path", "spiral"]) == 0
    assert _frames(video) == (4, (40, 40, 3))
    again = tmp_path / "again.gif"
    assert main(["render", str(scene_ply), "-o", str(again), "--path", str(path_json), "--size", "40"]) == 0
    with Image.open(again) as gif:
        assert gif.n_frames == 4


def test_scene_command_with_transforms_cameras(scene_ply, style_png, tmp_path):
    cams = tmp_path / "transforms.json"
    cams.write_text(json.dumps(transforms_dict(orbit(torch.zeros(3), 2.5, 20.0, 3, width=40, height=30))))
    out = tmp_path / "out"
    assert main(["scene", str(scene_ply), str(style_png), "-o", str(out), "--cameras", str(cams), "--steps", "1",
                 "--size", "40", "--video-frames", "0", "--quiet", "--loss", "gram"]) == 0
    assert Image.open(out / "views" / "view_00.png").size == (80, 30)  # the cameras' 4:3 aspect, side by side
    assert json.loads((out / "report.json").read_text())["sizes"]["training_views"] == 3
    assert not (out / "orbit.mp4").exists()


def test_metrics_command_reports_consistency(scene_ply, style_png, tmp_path, capsys):
    report = tmp_path / "m.json"
    assert main(["metrics-3d", str(scene_ply), str(scene_ply), "--frames", "9", "--size", "32",
                 "--style", str(style_png), "--baseline", "per-view", "--steps", "1", "--report", str(report)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["stylized_style_distance"] > 0
    assert metrics["original_short_range_k1_rmse"] == metrics["stylized_short_range_k1_rmse"]
    assert 0 < metrics["original_long_range_k7_rmse"] < 0.5
    for baseline in ("colour_transfer", "per_view"):  # the stylized scene's ratio to each baseline, k=1 and k=7
        for gap in ("short_range_k1", "long_range_k7"):
            assert metrics[f"{baseline}_{gap}_rmse"] > 0
            assert metrics[f"stylized_to_{baseline}_{gap}"] == pytest.approx(
                metrics[f"stylized_{gap}_rmse"] / metrics[f"{baseline}_{gap}_rmse"])
    assert metrics["per_view_settings"]["steps"] == 1 and metrics["per_view_settings"]["size"] == 32
    assert (metrics["per_view_short_range_k1_valid_fraction"]
            == metrics["original_short_range_k1_valid_fraction"])  # scored on the original's geometry
    assert "original_short_range_k1_rmse" in capsys.readouterr().out
    assert main(["metrics-3d", str(scene_ply), str(scene_ply), "--frames", "9", "--baseline", "per-view"]) == 2
    assert "--baseline per-view stylizes the frames after a picture: give --style" in capsys.readouterr().err


def _bad_ply(tmp_path):
    path = tmp_path / "bad.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                     b"property float z\nend_header\n" + np.zeros(3, "<f4").tobytes())
    return path


def _transforms(tmp_path, **frame):
    doc = transforms_dict(orbit(torch.zeros(3), 2.0, 20.0, 2, width=32, height=32))
    doc["frames"][0].update(frame)
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps(doc))
    return path


def test_scene_runs_with_cameras_whose_photos_are_missing(scene_ply, style_png, tmp_path):
    cameras = _transforms(tmp_path, file_path="images/nope.png")
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match=r"1 image\(s\) named by frames are missing, e.g. images/nope.png"):
        code = main(["scene", str(scene_ply), str(style_png), "-o", str(out), "--cameras", str(cameras),
                     "--steps", "1", "--size", "32", "--video-frames", "0", "--quiet"])
    assert code == 0 and (out / "scene_stylized.ply").is_file()


@pytest.mark.parametrize("case,message", [
    ("missing_properties", "lacks Gaussian properties f_dc_0"),
    ("zero_gaussians", "zero Gaussians"),
    ("tiny_style", "at least 16x16"),
    ("cuda", "CUDA is not available"),
    ("non_finite", "NaN"),
    ("non_rigid", "not a rigid"),
    ("bad_loss", "invalid choice"),
    ("dataparser_without_cameras", "give --cameras too"),
    ("bad_dataparser", "'transform' and 'scale'"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, message, scene_ply, style_png, tmp_path, capsys):
    if case == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA present")
    scene, style, extra = str(scene_ply), str(style_png), ["--orbit", "2"]
    if case == "missing_properties":
        scene = str(_bad_ply(tmp_path))
    elif case == "zero_gaussians":
        (tmp_path / "zero.ply").write_bytes(scene_ply.read_bytes().replace(b"element vertex 200", b"element vertex 0"))
        scene = str(tmp_path / "zero.ply")
    elif case == "tiny_style":
        Image.new("RGB", (8, 8)).save(tmp_path / "tiny.png")
        style = str(tmp_path / "tiny.png")
    elif case == "cuda":
        extra += ["--device", "cuda"]
    elif case == "non_finite":
        extra = ["--cameras", str(_transforms(tmp_path, transform_matrix=[[float("nan")] * 4] * 4))]
    elif case == "non_rigid":
        extra = ["--cameras", str(_transforms(tmp_path, transform_matrix=[[3, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]))]
    elif case == "bad_loss":
        extra += ["--loss", "fancy"]
    elif case in ("dataparser_without_cameras", "bad_dataparser"):
        (tmp_path / "dp.json").write_text(json.dumps({"transform": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]}))
        extra += ["--dataparser-transforms", str(tmp_path / "dp.json")]
        if case == "bad_dataparser":
            extra = ["--cameras", str(_transforms(tmp_path)), *extra[2:]]
    out = tmp_path / "out"
    argv = ["scene", scene, style, "-o", str(out), "--steps", "1", "--size", "32", "--quiet", *extra]
    if case == "bad_loss":  # argparse usage errors exit directly
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    else:
        assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists() or not any(out.rglob("*"))

