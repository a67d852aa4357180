"""Posed dataset readers: Blender, nerfstudio, COLMAP layouts, splits, RGBA compositing, one-line errors."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import InputError
from stylize3d.cameras import intrinsics_from_fov, viewmat_to_c2w_opengl
from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.datasets.synthetic import render_rgba, spiral_cameras, write_synthetic_dataset
from tests.stylize3d.conftest import random_scene


@pytest.fixture(scope="module")
def blender(tmp_path_factory):
    scene = random_scene(200, degree=0, spread=0.6)
    folder = write_synthetic_dataset(tmp_path_factory.mktemp("blender"), views=10, size=16, scene=scene)
    return folder, scene


def test_blender_folder_round_trip(blender):
    folder, scene = blender
    data = load_posed_dataset(folder)
    assert data.kind == "blender" and data.images.shape == (10, 3, 16, 16) and data.alphas.shape == (10, 1, 16, 16)
    assert data.split == {"train": list(range(8)), "test": [8, 9]}  # frames 0 and 8 were held out, listed last
    order = [i for i in range(10) if i % 8] + [0, 8]
    expected = spiral_cameras(10, 16)[order]
    assert torch.allclose(data.cameras.viewmats, expected.viewmats, atol=1e-5)
    assert torch.allclose(data.cameras.Ks, expected.Ks, atol=1e-4)
    rgba = render_rgba(scene, expected, 16)
    on_white = rgba[:, :3] * rgba[:, 3:] + 1 - rgba[:, 3:]
    assert (data.images - on_white).abs().max() < 2.5 / 255  # 8-bit quantisation of colour and alpha
    assert (data.alphas - rgba[:, 3:]).abs().max() < 0.6 / 255
    assert data.white_background


def test_downscale_halves_size_and_focal(blender):
    folder, _ = blender
    full, half = load_posed_dataset(folder), load_posed_dataset(folder, downscale=2)
    assert half.images.shape[-2:] == (8, 8)
    assert torch.allclose(half.cameras.Ks[:, 0, 0], full.cameras.Ks[:, 0, 0] / 2)
    assert torch.allclose(half.images, torch.nn.functional.avg_pool2d(full.images, 2), atol=1e-5)


def _nerfstudio_folder(tmp_path, frames=10, size=(12, 10), extra=None, image_size=None):
    c2w = viewmat_to_c2w_opengl(spiral_cameras(frames, 16).viewmats)
    (tmp_path / "images").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(frames):
        w, h = image_size or size
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(tmp_path / "images" / f"f{i}.png")
    doc = {"fl_x": 10.0, "fl_y": 11.0, "cx": 6.0, "cy": 5.0, "w": size[0], "h": size[1],
           "frames": [{"file_path": f"images/f{i}.png", "transform_matrix": c2w[i].tolist()} for i in range(frames)]}
    doc.update(extra or {})
    (tmp_path / "transforms.json").write_text(json.dumps(doc))
    return tmp_path


def test_nerfstudio_every_8th_frame_is_held_out(tmp_path):
    data = load_posed_dataset(_nerfstudio_folder(tmp_path, frames=17))
    assert data.kind == "nerfstudio" and data.alphas is None
    assert data.split["test"] == [0, 8, 16] and len(data.split["train"]) == 14
    assert data.images.shape == (17, 3, 10, 12)
    pixel = np.asarray(Image.open(tmp_path / "images" / "f3.png"), dtype=np.float32)[2, 5] / 255
    assert torch.allclose(data.images[3, :, 2, 5], torch.from_numpy(pixel))
    assert float(data.cameras.Ks[0, 1, 1]) == 11.0
    sub = data.subset("test")
    assert len(sub) == 3 and torch.equal(sub.images[1], data.images[8])


def test_nerfstudio_test_filenames_from_the_file(tmp_path):
    data = load_posed_dataset(_nerfstudio_folder(tmp_path, extra={"test_filenames": ["images/f2.png", "images/f5.png"]}))
    assert data.split["test"] == [2, 5]


def test_colmap_pinhole_model(tmp_path):
    pycolmap = pytest.importorskip("pycolmap")
    cams = spiral_cameras(9, 16)
    rec = pycolmap.Reconstruction()
    rec.add_camera_with_trivial_rig(pycolmap.Camera(model="PINHOLE", width=16, height=16,
                                                    params=[13.0, 14.0, 8.0, 7.5], camera_id=1))
    (tmp_path / "images").mkdir()
    for i in range(9):
        Image.fromarray(np.full((16, 16, 3), 20 * i, np.uint8)).save(tmp_path / "images" / f"im{i}.png")
        R, t = cams.viewmats[i, :3, :3].double().numpy(), cams.viewmats[i, :3, 3].double().numpy()
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(R), t)
        rec.add_image_with_trivial_frame(pycolmap.Image(name=f"im{i}.png", camera_id=1, image_id=i + 1), pose)
    (tmp_path / "sparse" / "0").mkdir(parents=True)
    rec.write(str(tmp_path / "sparse" / "0"))
    data = load_posed_dataset(tmp_path)
    assert data.kind == "colmap" and data.split["test"] == [0, 8]
    assert torch.allclose(data.cameras.viewmats, cams.viewmats, atol=1e-5)
    assert data.cameras.Ks[0].tolist() == [[13.0, 0, 8.0], [0, 14.0, 7.5], [0, 0, 1]]
    assert abs(float(data.images[4].mean()) - 80 / 255) < 1e-6


@pytest.mark.parametrize("damage, message", [
    ("missing", "missing"),
    ("corrupt", "f3.png: not an image file"),
    ("size", "intrinsics are for 12x10"),
    ("zero", "no 'frames'"),
    ("nan", "NaN/inf"),
])
def test_bad_input_is_one_line(tmp_path, damage, message):
    folder = _nerfstudio_folder(tmp_path, image_size=(14, 10) if damage == "size" else None)
    doc = json.loads((folder / "transforms.json").read_text())
    if damage == "missing":
        (folder / "images" / "f3.png").unlink()
    elif damage == "corrupt":
        (folder / "images" / "f3.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    elif damage == "zero":
        doc["frames"] = []
    elif damage == "nan":
        doc["frames"][2]["transform_matrix"][0][3] = math.nan
    (folder / "transforms.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message) as info:
        load_posed_dataset(folder)
    assert "\n" not in str(info.value)


def test_unknown_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="no transforms_train.json"):
        load_posed_dataset(tmp_path)
    assert float(intrinsics_from_fov(90.0, 2, 2)[0, 0]) == pytest.approx(1.0)
