"""Training-run folders in: nerfstudio splatfacto, original 3DGS (Inria), gsplat simple_trainer; dataset cameras out.

Each layout is built here with the keys, shapes and file names the tools write (FIELD_NOTES "File formats")."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from core.errors import InputError
from stylize3d.camera_paths import orbit
from stylize3d.datasets.runs import load_camera_source, load_scene_source, read_nerfstudio_config, scene_name
from stylize3d.datasets.transforms_json import transforms_dict
from stylize3d.splats.ply import write_ply
from stylize3d.splats.render import render_all

CAMERAS = orbit(torch.zeros(3), 3.0, 25.0, 10, width=40, height=30)

CONFIG_YML = """\
!!python/object:nerfstudio.engine.trainer.TrainerConfig
_target: !!python/name:nerfstudio.engine.trainer.Trainer ''
data: &id001 !!python/object/apply:pathlib.PosixPath
- data
- poster
experiment_name: poster
method_name: splatfacto
output_dir: !!python/object/apply:pathlib.PosixPath
- outputs
pipeline: !!python/object:nerfstudio.pipelines.base_pipeline.VanillaPipelineConfig
  _target: !!python/name:nerfstudio.pipelines.base_pipeline.VanillaPipeline ''
  datamanager: !!python/object:nerfstudio.data.datamanagers.full_images_datamanager.FullImageDatamanagerConfig
    _target: !!python/object/apply:builtins.getattr
    - &id002 !!python/name:nerfstudio.data.datamanagers.full_images_datamanager.FullImageDatamanager ''
    - __default__
    data: *id001
    dataparser: !!python/object:nerfstudio.data.dataparsers.nerfstudio_dataparser.NerfstudioDataParserConfig
      _target: !!python/name:nerfstudio.data.dataparsers.nerfstudio_dataparser.Nerfstudio ''
      data: *id001
      scale_factor: 1.0
      orientation_method: up
  model: !!python/object:nerfstudio.models.splatfacto.SplatfactoModelConfig
    sh_degree: 1
timestamp: 2024-05-01_120000
"""


def _gaussians(n, degree, seed):
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2
    return {"means": torch.rand(n, 3, generator=g) - 0.5, "scales": torch.full((n, 3), -2.5),
            "quats": torch.randn(n, 4, generator=g), "opacities": torch.full((n, 1), 3.0),
            "features_dc": torch.rand(n, 3, generator=g) - 0.5, "features_rest": torch.zeros(n, k - 1, 3)}


@pytest.fixture
def nerfstudio_run(tmp_path):
    """``tmp_path/outputs/poster/splatfacto/<ts>/`` with two checkpoints, and its data in ``tmp_path/data/poster``."""
    data = tmp_path / "data" / "poster"
    data.mkdir(parents=True)
    doc = transforms_dict(CAMERAS)
    for i, frame in enumerate(doc["frames"]):
        frame["file_path"] = f"images/frame_{i:05d}.png"  # photos absent: only the cameras are read
    (data / "transforms.json").write_text(json.dumps(doc))
    run = tmp_path / "outputs" / "poster" / "splatfacto" / "2024-05-01_120000"
    (run / "nerfstudio_models").mkdir(parents=True)
    (run / "config.yml").write_text(CONFIG_YML)
    angle = torch.tensor(0.3)
    transform = [[float(torch.cos(angle)), -float(torch.sin(angle)), 0, 0.1],
                 [float(torch.sin(angle)), float(torch.cos(angle)), 0, -0.2], [0, 0, 1, 0.05]]
    (run / "dataparser_transforms.json").write_text(json.dumps({"transform": transform, "scale": 0.5}))
    for step, seed in ((100, 1), (2000, 2)):
        params = _gaussians(50, 1, seed)
        pipeline = {f"_model.gauss_params.{k}": v for k, v in params.items()}
        pipeline["_model.some_field.weight"] = torch.zeros(2)
        torch.save({"step": step, "pipeline": pipeline, "optimizers": {}, "schedulers": {}, "scalers": {}},
                   run / "nerfstudio_models" / f"step-{step:09d}.ckpt")
    return run, _gaussians(50, 1, 2), transform


def test_nerfstudio_config_is_parsed_without_importing_anything(nerfstudio_run):
    run, _, _ = nerfstudio_run
    config = read_nerfstudio_config(run)
    assert str(config["pipeline"]["datamanager"]["dataparser"]["data"]) == "data/poster"
    assert config["method_name"] == "splatfacto" and config["pipeline"]["model"]["sh_degree"] == 1


@pytest.mark.filterwarnings("ignore:.*named by frames are missing")
def test_nerfstudio_run_gives_latest_checkpoint_and_moved_cameras(nerfstudio_run):
    run, latest, transform = nerfstudio_run
    for where in (run, run / "config.yml"):
        scene, cameras = load_scene_source(where)
        assert torch.equal(scene.means, latest["means"]) and torch.equal(scene.log_scales, latest["scales"])
        assert torch.equal(scene.opacity_logits, latest["opacities"][:, 0])
        assert torch.equal(scene.sh[:, 0], latest["features_dc"]) and scene.sh_degree == 1
        T = torch.eye(4, dtype=torch.float64)
        T[:3] = torch.tensor(transform, dtype=torch.float64)
        expected = ((T[:3, :3] @ CAMERAS.centers().double().T).T + T[:3, 3]) * 0.5
        assert torch.allclose(cameras.centers().double(), expected, atol=1e-5)
        # rotations are moved by T (not scaled): the viewing directions turn with it
        assert torch.allclose(cameras.forward_dirs().double(), (T[:3, :3] @ CAMERAS.forward_dirs().double().T).T,
                              atol=1e-5)
    assert scene_name(run) == "poster_splatfacto"


def _write_inria(tmp_path, scenes):
    folder = tmp_path / "3dgs_out"
    for iteration, scene in scenes.items():
        (folder / "point_cloud" / f"iteration_{iteration}").mkdir(parents=True)
        write_ply(scene, folder / "point_cloud" / f"iteration_{iteration}" / "point_cloud.ply")
    entries = []
    for i in range(len(CAMERAS)):
        c2w = torch.linalg.inv(CAMERAS.viewmats[i].double())
        K = CAMERAS.Ks[i]
        entries.append({"id": i, "img_name": f"{i:05d}", "width": 40, "height": 30,
                        "position": c2w[:3, 3].tolist(), "rotation": c2w[:3, :3].tolist(),
                        "fx": float(K[0, 0]), "fy": float(K[1, 1])})
    (folder / "cameras.json").write_text(json.dumps(entries))
    (folder / "cfg_args").write_text("Namespace(sh_degree=3)")
    return folder


def test_inria_folder_gives_highest_iteration_and_its_cameras(tmp_path, make_scene):
    first, last = make_scene(n=30, degree=3, seed=1), make_scene(n=40, degree=3, seed=2)
    folder = _write_inria(tmp_path, {7000: first, 30000: last})
    scene, cameras = load_scene_source(folder)
    assert scene.num_gaussians == 40 and torch.allclose(scene.sh, last.sh)
    assert torch.allclose(cameras.viewmats, CAMERAS.viewmats, atol=1e-5)
    assert torch.allclose(cameras.Ks, CAMERAS.Ks, atol=1e-4)
    test, indices = load_camera_source(folder / "cameras.json", split="test")
    assert indices == [0, 8] and torch.allclose(test.viewmats, CAMERAS.viewmats[[0, 8]], atol=1e-5)


def test_gsplat_checkpoint_gives_its_splats(tmp_path):
    g = _gaussians(20, 2, 3)
    splats = torch.nn.ParameterDict({
        "means": g["means"], "scales": g["scales"], "quats": g["quats"], "opacities": g["opacities"][:, 0],
        "sh0": g["features_dc"][:, None], "shN": torch.randn(20, 8, 3)})
    (tmp_path / "results" / "ckpts").mkdir(parents=True)
    for step in (999, 6999):
        torch.save({"step": step, "splats": splats.state_dict()}, tmp_path / "results" / "ckpts" / f"ckpt_{step}_rank0.pt")
    torch.save({"step": 0, "splats": {}}, tmp_path / "results" / "ckpts" / "ckpt_10_rank0.pt")  # older: not read
    for where in (tmp_path / "results", tmp_path / "results" / "ckpts",
                  tmp_path / "results" / "ckpts" / "ckpt_6999_rank0.pt"):
        scene, cameras = load_scene_source(where)
        assert cameras is None and scene.sh_degree == 2
        assert torch.equal(scene.sh[:, 1:], splats["shN"].detach()) and torch.equal(scene.quats, g["quats"])
    assert scene_name(tmp_path / "results") == "results"


@pytest.mark.parametrize("case,message", [
    ("no_checkpoint", "no nerfstudio_models/step-"),
    ("not_splatfacto", "no splatfacto Gaussians"),
    ("bad_shape", "quats has shape"),
    ("no_data", "training data data/poster is not found"),
    ("gsplat_no_splats", "no 'splats' dict"),
    ("not_a_run", "not a training run folder"),
])
def test_bad_runs_are_input_errors(nerfstudio_run, tmp_path, case, message):
    run, _, _ = nerfstudio_run
    ckpt = run / "nerfstudio_models" / "step-000002000.ckpt"
    path = run
    if case == "no_checkpoint":
        for f in (run / "nerfstudio_models").iterdir():
            f.unlink()
    elif case == "not_splatfacto":
        torch.save({"step": 1, "pipeline": {"_model.field.weight": torch.zeros(1)}}, ckpt)
    elif case == "bad_shape":
        params = _gaussians(5, 0, 0)
        params["quats"] = torch.zeros(5, 3)
        torch.save({"pipeline": {f"_model.gauss_params.{k}": v for k, v in params.items()}}, ckpt)
    elif case == "no_data":
        (tmp_path / "data" / "poster" / "transforms.json").unlink()
        (tmp_path / "data" / "poster").rmdir()
    elif case == "gsplat_no_splats":
        torch.save({"step": 1}, tmp_path / "ckpt_5_rank0.pt")
        path = tmp_path / "ckpt_5_rank0.pt"
    elif case == "not_a_run":
        path = tmp_path / "data"
    with pytest.raises(InputError, match=message):
        load_scene_source(path)


def _dataset(tmp_path, n=10, test_filenames=None):
    doc = transforms_dict(orbit(torch.zeros(3), 2.5, 25.0, n, width=32, height=24))
    (tmp_path / "images").mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(doc["frames"]):
        frame["file_path"] = f"images/{i:03d}.png"
        Image.new("RGB", (32, 24)).save(tmp_path / "images" / f"{i:03d}.png")
    if test_filenames:
        doc["test_filenames"] = test_filenames
    (tmp_path / "transforms.json").write_text(json.dumps(doc))
    return tmp_path


def test_dataset_camera_splits(tmp_path):
    data = _dataset(tmp_path)
    all_cams, all_idx = load_camera_source(data)
    train, train_idx = load_camera_source(data / "transforms.json", split="train")
    test, test_idx = load_camera_source(data, split="test")
    assert test_idx == [0, 8] and train_idx == [1, 2, 3, 4, 5, 6, 7, 9] and all_idx == list(range(10))
    assert torch.equal(test.viewmats, all_cams.viewmats[[0, 8]])
    named = _dataset(tmp_path / "named", test_filenames=["images/003.png"])
    assert load_camera_source(named, split="test")[1] == [3]


def test_render_path_cameras_writes_one_png_per_camera(tmp_path, make_scene):
    scene = make_scene(n=150, degree=0, seed=5, spread=0.6)
    scene.opacity_logits.fill_(3.0)
    write_ply(scene, tmp_path / "s.ply")
    data = _dataset(tmp_path / "data")
    out = tmp_path / "renders" / "test.mp4"
    code = main(["render", str(tmp_path / "s.ply"), "-o", str(out), "--path", "cameras", "--cameras", str(data),
                 "--split", "test", "--size", "32"])
    assert code == 0 and out.is_file()
    pngs = sorted((tmp_path / "renders" / "test_frames").iterdir())
    assert [p.name for p in pngs] == ["camera_0000.png", "camera_0008.png"]  # named by dataset index
    test, _ = load_camera_source(data, split="test")
    expected = render_all(scene, test, 32, 24).rgb
    got = torch.from_numpy(np.asarray(Image.open(pngs[1]), dtype=np.float32) / 255).permute(2, 0, 1)
    assert (got - expected[1]).abs().max() <= 1 / 255 + 1e-6


def test_render_split_without_dataset_cameras_is_refused(tmp_path, make_scene, capsys):
    write_ply(make_scene(n=20), tmp_path / "s.ply")
    code = main(["render", str(tmp_path / "s.ply"), "-o", str(tmp_path / "o.mp4"), "--path", "cameras"])
    assert code == 2 and "--path cameras needs --cameras DATA" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.filterwarnings("ignore:.*named by frames are missing")
def test_scene_and_render_take_a_run_folder_alone(nerfstudio_run, tmp_path, style_png, monkeypatch):
    run, _, _ = nerfstudio_run
    monkeypatch.chdir(tmp_path)  # no -o: the output folder is stylized/SCENE_STYLE here
    out = tmp_path / "stylized" / f"poster_splatfacto_{style_png.stem}"
    report = tmp_path / "r.json"
    assert main(["scene", str(run / "config.yml"), str(style_png), "--steps", "1", "--size", "32",
                 "--video-frames", "0", "--quiet", "--report", str(report)]) == 0
    assert (out / "poster_splatfacto_stylized.ply").is_file()
    assert json.loads(report.read_text())["sizes"]["training_views"] == len(CAMERAS)
    video = tmp_path / "cams.mp4"
    assert main(["render", str(run), "-o", str(video), "--path", "cameras", "--size", "24"]) == 0
    assert len(list((tmp_path / "cams_frames").iterdir())) == len(CAMERAS)
    # the run's own held-out cameras, no --cameras: every 8th frame of its data
    assert main(["render", str(run / "config.yml"), "-o", str(tmp_path / "test.mp4"), "--path", "cameras", "--split",
                 "test", "--size", "24"]) == 0
    assert sorted(p.name for p in (tmp_path / "test_frames").iterdir()) == ["camera_0000.png", "camera_0008.png"]


def test_render_split_of_an_inria_folder_alone(tmp_path, make_scene):
    folder = _write_inria(tmp_path, {30000: make_scene(n=30, degree=0, seed=3)})
    assert main(["render", str(folder), "-o", str(tmp_path / "train.mp4"), "--path", "cameras", "--split", "train",
                 "--size", "24"]) == 0
    names = sorted(p.name for p in (tmp_path / "train_frames").iterdir())
    assert names == [f"camera_{i:04d}.png" for i in range(len(CAMERAS)) if i % 8]


def test_missing_photos_warn_in_one_line(nerfstudio_run, tmp_path, capsys):
    import sys
    import warnings

    run, _, _ = nerfstudio_run
    with warnings.catch_warnings():  # print warnings as Python does outside pytest (which records them)
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        assert main(["render", str(run), "-o", str(tmp_path / "o.mp4"), "--frames", "2", "--size", "16"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "missing" in line] == [
        f"stylize render: warning: {run.parent.parent.parent.parent / 'data' / 'poster' / 'transforms.json'}: 10 "
        "image(s) named by frames are missing, e.g. images/frame_00000.png; using their cameras only (the photos "
        "are not needed here)"]
    assert not any("UserWarning" in line for line in err)
    assert warnings.formatwarning is warnings._formatwarning_orig  # restored after the command
