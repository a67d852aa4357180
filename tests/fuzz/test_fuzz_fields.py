"""Fuzzing the radiance-field file (stylize3d.fields.io.load_field) and the posed-dataset reader.

Seeds: a small field saved by ``save_field`` (mutated as bytes, and through its JSON metadata re-saved with
safetensors), and a two-view Blender-layout dataset whose ``transforms_train.json`` is mutated as JSON.
"""

import functools
import json

import torch
from hypothesis import given
from safetensors.torch import save_file

from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.fields.grid import RadianceField, new_field
from stylize3d.fields.io import load_field, save_field
from tests.fuzz.harness import check_reader, examples, mutated_bytes, mutated_json, seed_dir, write_input


@functools.lru_cache(maxsize=None)
def field_seed() -> tuple:
    """(file bytes, metadata dict, tensors) of an 8³ SH-1 field."""
    path = seed_dir() / "seed_field.safetensors"
    save_field(new_field(-torch.ones(3), torch.ones(3), (8, 8, 8), sh_degree=1), path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["stylize3d"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return path.read_bytes(), meta, tensors


def _valid_field(field: RadianceField) -> None:
    d, h, w = field.density.shape[-3:]
    assert field.colour.shape[-3:] == (d, h, w) and tuple(field.occupancy.shape) == (d, h, w)
    assert torch.isfinite(field.box_min).all() and torch.isfinite(field.box_max).all()
    assert (field.box_max > field.box_min).all()


@examples(30)
@given(data=mutated_bytes(field_seed()[0]))
def test_field_file_bytes(data):
    check_reader(load_field, write_input("f.safetensors", data), valid=_valid_field)


@examples(30)
@given(text=mutated_json(field_seed()[1]))
def test_field_file_metadata(text):
    path = seed_dir() / "meta_field.safetensors"
    save_file(field_seed()[2], str(path), metadata={"stylize3d": text})
    check_reader(load_field, path, valid=_valid_field)


@functools.lru_cache(maxsize=None)
def dataset_seed() -> dict:
    """A two-view Blender folder (16 px RGBA PNGs); returns its transforms_train.json document."""
    from PIL import Image

    folder = seed_dir() / "blender_seed"
    (folder / "train").mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(2):
        Image.new("RGBA", (16, 16), (200, 40 * i, 90, 255)).save(folder / "train" / f"r_{i}.png")
        frames.append({"file_path": f"./train/r_{i}",
                       "transform_matrix": [[1, 0, 0, 0.1 * i], [0, 1, 0, 0], [0, 0, 1, 3.0], [0, 0, 0, 1]]})
    return {"camera_angle_x": 0.69, "frames": frames}


@examples(30)
@given(text=mutated_json(dataset_seed()))
def test_posed_dataset_transforms(text):
    folder = seed_dir() / "blender_seed"
    (folder / "transforms_train.json").write_text(text)
    check_reader(load_posed_dataset, folder,
                 valid=lambda data: data.images.shape[0] == len(data.cameras) and torch.isfinite(data.images).all())
