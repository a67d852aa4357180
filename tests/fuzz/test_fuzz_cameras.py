"""Fuzzing the camera readers: transforms.json, dataparser_transforms.json, our camera-path JSON and nerfstudio
viewer camera paths, seeded from scenes/splats/transforms.json."""

import copy
import functools
import json
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError
from core.io.images import MAX_IMAGE_SIDE
from stylize3d.camera_paths import read_camera_path, write_camera_path
from stylize3d.cameras import Cameras, viewmat_to_c2w_opengl
from stylize3d.datasets.transforms_json import load_dataparser_transform, load_transforms
from tests.fuzz.harness import SCENES, check_reader, examples, mutated_json, mutated_text, write_input

FRAMES = 3


@functools.lru_cache(maxsize=None)
def transforms_doc() -> dict:
    """The bundled transforms.json cut to its first frames, with the global fields nerfstudio files carry."""
    doc = json.loads((SCENES / "splats" / "transforms.json").read_text())
    doc["frames"] = doc["frames"][:FRAMES]
    return doc


@functools.lru_cache(maxsize=None)
def blender_doc() -> dict:
    """The same cameras as a Blender/NeRF-synthetic file: one global camera_angle_x, no per-frame intrinsics."""
    doc = copy.deepcopy(transforms_doc())
    first = doc["frames"][0]
    doc = {"camera_angle_x": 2 * math.atan(0.5 * first["w"] / first["fl_x"]), "w": first["w"], "h": first["h"],
           "frames": [{"transform_matrix": f["transform_matrix"]} for f in doc["frames"]]}
    return doc


DATAPARSER = {"transform": [[0.0, 1.0, 0.0, 0.1], [-1.0, 0.0, 0.0, -0.2], [0.0, 0.0, 1.0, 0.3]], "scale": 0.25}


@functools.lru_cache(maxsize=None)
def camera_path_text() -> str:
    path = write_input("seed_path.json", b"")
    write_camera_path(load_transforms(write_input("seed_transforms.json", json.dumps(transforms_doc()))), path)
    return path.read_text()


@functools.lru_cache(maxsize=None)
def viewer_doc() -> dict:
    cams = load_transforms(write_input("seed_transforms.json", json.dumps(transforms_doc())))
    c2w = viewmat_to_c2w_opengl(cams.viewmats)
    return {"render_width": 64, "render_height": 48, "seconds": 2.0,
            "camera_path": [{"camera_to_world": c2w[i].flatten().tolist(), "fov": 50.0, "aspect": 4 / 3}
                            for i in range(len(cams))]}


def valid_cameras(cams: Cameras) -> None:
    assert len(cams) >= 1
    assert torch.isfinite(cams.viewmats).all() and torch.isfinite(cams.Ks).all()
    assert (cams.Ks[:, 0, 0] > 0).all() and (cams.Ks[:, 1, 1] > 0).all()
    assert ((cams.widths >= 1) & (cams.widths <= MAX_IMAGE_SIDE)).all()
    assert ((cams.heights >= 1) & (cams.heights <= MAX_IMAGE_SIDE)).all()
    rot = cams.viewmats[:, :3, :3].double()
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand_as(rot), atol=1e-2)
    w, h = cams.size_for(64, even=True)  # what the commands do next with the cameras
    assert 8 <= w <= 4 * 64 * MAX_IMAGE_SIDE and 8 <= h


def _transforms(text: str):
    return check_reader(load_transforms, write_input("transforms.json", text), valid=valid_cameras)


@pytest.mark.parametrize("seed", ["nerfstudio", "blender"])
@examples(30)
@given(data=st.data())
def test_transforms_json_structure_edits(seed, data):
    doc = transforms_doc() if seed == "nerfstudio" else blender_doc()
    _transforms(data.draw(mutated_json(doc)))


@examples(15)
@given(data=st.data())
def test_transforms_json_text_edits(data):
    _transforms(data.draw(mutated_text(json.dumps(transforms_doc(), indent=1))))


@examples(20)
@given(data=st.data())
def test_dataparser_transforms_edits(data):
    path = write_input("dataparser_transforms.json", data.draw(mutated_json(DATAPARSER)))
    check_reader(load_dataparser_transform, path,
                 valid=lambda r: (r[0].shape == (4, 4) and torch.isfinite(r[0]).all() and 0 < r[1] < math.inf)
                 or pytest.fail(f"bad dataparser transform {r}"))


@examples(20)
@given(data=st.data())
def test_camera_path_json_edits(data):
    text = data.draw(st.one_of(mutated_json(json.loads(camera_path_text())), mutated_text(camera_path_text())))
    check_reader(read_camera_path, write_input("path.json", text), valid=valid_cameras)


@examples(20)
@given(data=st.data())
def test_nerfstudio_viewer_camera_path_edits(data):
    check_reader(read_camera_path, write_input("camera_path.json", data.draw(mutated_json(viewer_doc()))),
                 valid=valid_cameras)


def test_seeds_are_read():
    assert len(load_transforms(write_input("t.json", json.dumps(transforms_doc())))) == FRAMES
    assert len(load_transforms(write_input("b.json", json.dumps(blender_doc())))) == FRAMES
    assert len(read_camera_path(write_input("p.json", camera_path_text()))) == FRAMES
    assert len(read_camera_path(write_input("v.json", json.dumps(viewer_doc())))) == FRAMES
    T, scale = load_dataparser_transform(write_input("d.json", json.dumps(DATAPARSER)))
    assert scale == 0.25 and T[3].tolist() == [0, 0, 0, 1]


# ------------------------------------------------------------------ the named defects of issue 16, one test each


def _edited(edit) -> str:
    doc = copy.deepcopy(blender_doc())
    edit(doc)
    return json.dumps(doc)


@pytest.mark.parametrize("angle,shown", [(0, "camera_angle_x=0 must be in (0, pi)"), (-0.5, "=-0.5 must be in (0, pi)"),
                                         (math.pi, "must be in (0, pi)"), (math.nan, "must be a finite number"),
                                         ("wide", "must be a number")])
def test_camera_angle_x_outside_zero_pi_is_refused(angle, shown):
    with pytest.raises(InputError, match=f"frame 0: .*{shown.replace('(', '[(]').replace(')', '[)]')}"):
        load_transforms(write_input("t.json", _edited(lambda d: d.update(camera_angle_x=angle))))


@pytest.mark.parametrize("key,value", [("w", 10 ** 9), ("h", 10 ** 9), ("w", 0), ("h", -4), ("w", 12.5), ("w", "256")])
def test_absurd_image_sizes_are_refused_with_the_numbers(key, value):
    with pytest.raises(InputError, match=f"{key}={value}.* 1..{MAX_IMAGE_SIDE}|{key} must be a number"):
        load_transforms(write_input("t.json", _edited(lambda d: d.update({key: value}))))


@pytest.mark.parametrize("key,value", [("fl_x", 0), ("fl_y", -3.0), ("fl_x", 1e39), ("fl_y", math.inf)])
def test_focal_lengths_must_be_positive_and_finite(key, value):
    doc = copy.deepcopy(transforms_doc())
    doc["frames"][1][key] = value
    with pytest.raises(InputError, match=f"frame 1: .*{key}"):
        load_transforms(write_input("t.json", json.dumps(doc)))


def test_viewer_path_fov_and_size_are_checked():
    doc = copy.deepcopy(viewer_doc())
    doc["camera_path"][0]["fov"] = 0
    with pytest.raises(InputError, match=r"camera_path\[0\]: fov 0 must be in \(0, 180\) degrees"):
        read_camera_path(write_input("v.json", json.dumps(doc)))
    doc = copy.deepcopy(viewer_doc())
    doc["render_width"] = 10 ** 9
    with pytest.raises(InputError, match=f"w=1000000000 must be a whole number of pixels in 1..{MAX_IMAGE_SIDE}"):
        read_camera_path(write_input("v.json", json.dumps(doc)))


def test_deeply_nested_json_is_refused_not_a_recursion_error():
    with pytest.raises(InputError, match="nested too deeply"):
        load_transforms(write_input("t.json", "[" * 100_000 + "]" * 100_000))
