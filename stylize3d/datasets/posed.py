"""Posed photo collections: images with known cameras, read from the three layouts users have.

* Blender / NeRF-synthetic folder: ``transforms_train.json`` + ``transforms_test.json`` (``camera_angle_x``,
  RGBA PNGs composited on white; ``transforms_val.json`` is used as the test split when there is no test file).
* nerfstudio folder (or file) ``transforms.json``: the test split is ``test_filenames`` (or ``val_filenames``)
  when the file lists them, else every 8th frame (frames 0, 8, 16, ...).
* COLMAP output folder: ``sparse/0``, ``sparse`` or the folder itself holding ``cameras.bin|txt`` etc., images in
  ``images/`` beside ``sparse`` (or next to the model files). Only undistorted pinhole cameras (``PINHOLE``,
  ``SIMPLE_PINHOLE``, or an ``OPENCV``/``RADIAL`` model whose distortion is all zero); anything else is refused:
  run COLMAP's ``image_undistorter`` first. Test split: every 8th image in name order.

Every problem a user can fix (missing or corrupt images, images whose size differs from the intrinsics, zero
frames, non-finite or non-rigid poses, images of different sizes) raises :class:`core.errors.InputError` with one
line naming the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import InputError
from core.io.images import open_checked_image
from stylize3d.cameras import Cameras, cat_cameras, intrinsics
from stylize3d.datasets.transforms_json import check_rigid, read_transforms

HOLDOUT_EVERY = 8
"""Every 8th frame is held out for testing where the data does not name a test split (the LLFF convention)."""
PINHOLE_MODELS = ("PINHOLE", "SIMPLE_PINHOLE")
ZERO_DISTORTION_MODELS = ("OPENCV", "SIMPLE_RADIAL", "RADIAL", "FULL_OPENCV")


@dataclasses.dataclass
class PosedDataset:
    """N posed images.

    Attributes:
        cameras: the N cameras (OpenCV world-to-camera + K, sized ``W x H``).
        images: ``N,3,H,W`` float32 in [0,1]; RGBA inputs are composited on white.
        alphas: ``N,1,H,W`` float32 in [0,1] when the images carry an alpha channel, else None.
        split: ``"train"`` and ``"test"`` → lists of frame indices (disjoint, together all frames).
        kind: ``"blender"``, ``"nerfstudio"`` or ``"colmap"``.
        paths: the N image files.
    """

    cameras: Cameras
    images: torch.Tensor
    alphas: Optional[torch.Tensor]
    split: dict
    kind: str
    paths: list

    def __post_init__(self) -> None:
        n = len(self.cameras)
        if self.images.ndim != 4 or self.images.shape[:2] != (n, 3):
            raise ValueError(f"images {tuple(self.images.shape)} do not match {n} cameras")
        if self.alphas is not None and self.alphas.shape != (n, 1, *self.images.shape[2:]):
            raise ValueError(f"alphas {tuple(self.alphas.shape)} do not match images {tuple(self.images.shape)}")

    def __len__(self) -> int:
        return len(self.cameras)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of every image."""
        return int(self.images.shape[3]), int(self.images.shape[2])

    @property
    def white_background(self) -> bool:
        """True when the images were composited on white (RGBA data): render them with a white background."""
        return self.alphas is not None

    def subset(self, name: str) -> "PosedDataset":
        """The frames of split ``name`` (``"train"`` or ``"test"``), with a split that holds them all under it."""
        index = self.split[name]
        alphas = None if self.alphas is None else self.alphas[index]
        return PosedDataset(self.cameras[index], self.images[index], alphas, {name: list(range(len(index)))},
                            self.kind, [self.paths[i] for i in index])


def load_posed_dataset(path: "str | os.PathLike", downscale: float = 1.0) -> PosedDataset:
    """Read the posed images at ``path`` (a folder of one of the three layouts, or a ``transforms.json`` file).

    ``downscale`` divides the image size (and the intrinsics); images are resampled with area averaging.
    """
    path = Path(path)
    if not downscale > 0 or not math.isfinite(downscale):
        raise InputError(f"downscale factor must be a positive number, got {downscale}")
    if path.is_file() and path.suffix == ".json":
        return _nerfstudio(path, downscale)
    if not path.is_dir():
        raise InputError(f"posed data {path} does not exist (expected a folder or a transforms.json)")
    if (path / "transforms_train.json").is_file():
        return _blender(path, downscale)
    if (path / "transforms.json").is_file():
        return _nerfstudio(path / "transforms.json", downscale)
    model = _colmap_model_folder(path)
    if model is not None:
        return _colmap(path, model, downscale)
    raise InputError(f"{path}: no transforms_train.json (Blender), transforms.json (nerfstudio) or COLMAP model "
                     "(sparse/0/cameras.bin) found")


def load_sparse_points(path: "str | os.PathLike") -> "tuple[np.ndarray, np.ndarray] | None":
    """The sparse point cloud of the posed data at ``path`` (folder or ``transforms.json``): its ``sparse_pc.ply``
    (transforms.json's ``ply_file_path``) as ``(xyz N,3, rgb N,3 in [0,1])``, or None when it has none."""
    import json

    from stylize3d.capture.sfm import read_point_ply

    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    name = "sparse_pc.ply"
    if (folder / "transforms.json").is_file():
        name = json.loads((folder / "transforms.json").read_text()).get("ply_file_path", name)
    return read_point_ply(folder / name) if (folder / name).is_file() else None


# ------------------------------------------------------------------------------------------------ images


def _read_rgba(path: Path) -> np.ndarray:
    """``H,W,4`` float32 in [0,1] (alpha 1 for images without one); InputError for unreadable files."""
    img = open_checked_image(path)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise InputError(f"{path}: {img.mode} (16-bit/float grey) images are not supported for posed data")
    rgba = np.asarray(img.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    if not has_alpha:
        rgba = np.concatenate([rgba, np.ones_like(rgba[..., :1])], axis=2)
    return rgba


def _load_images(paths: list, expected: list, new_size: tuple[int, int]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Read ``paths``, check each against its ``expected`` ``(w, h)``, resize to ``new_size``; → images, alphas."""
    w_new, h_new = new_size
    images = torch.empty(len(paths), 3, h_new, w_new)
    alphas = torch.empty(len(paths), 1, h_new, w_new)
    any_alpha = False
    for i, (path, (w, h)) in enumerate(zip(paths, expected)):
        rgba = _read_rgba(path)
        if rgba.shape[:2] != (h, w):
            raise InputError(f"{path}: image is {rgba.shape[1]}x{rgba.shape[0]} but its intrinsics are for {w}x{h}")
        t = torch.from_numpy(rgba).permute(2, 0, 1)[None]
        t = torch.cat([t[:, :3] * t[:, 3:], t[:, 3:]], dim=1)  # resample premultiplied colour
        if (w, h) != (w_new, h_new):
            t = F.interpolate(t, size=(h_new, w_new), mode="area") if w_new <= w else \
                F.interpolate(t, size=(h_new, w_new), mode="bilinear", align_corners=False).clamp(0, 1)
        alpha = t[:, 3:]
        any_alpha |= bool((alpha < 1).any())
        images[i] = (t[:, :3] + (1 - alpha))[0]
        alphas[i] = alpha[0]
    return images, (alphas if any_alpha else None)


def _common_size(cameras: Cameras, where: Path) -> tuple[int, int]:
    sizes = set(zip(cameras.widths.tolist(), cameras.heights.tolist()))
    if len(sizes) != 1:
        raise InputError(f"{where}: images have {len(sizes)} different sizes {sorted(sizes)[:3]}; posed data needs "
                         "one image size")
    return sizes.pop()


def _needs_images(images: list, where: Path) -> None:
    for i, image in enumerate(images):
        if image is None:
            raise InputError(f"{where} frame {i}: no file_path (posed data needs an image per frame)")


# ------------------------------------------------------------------------------------------------ readers


def _blender(folder: Path, downscale: float) -> PosedDataset:
    train = read_transforms(folder / "transforms_train.json", downscale)
    test_file = folder / "transforms_test.json"
    if not test_file.is_file():
        test_file = folder / "transforms_val.json"
    parts = [train] + ([read_transforms(test_file, downscale)] if test_file.is_file() else [])
    cameras = cat_cameras([p.cameras for p in parts])
    images, sizes = sum((p.images for p in parts), []), sum((p.sizes for p in parts), [])
    _needs_images(images, folder)
    images_t, alphas = _load_images(images, sizes, _common_size(cameras, folder))
    n_train = len(train.cameras)
    split = {"train": list(range(n_train)), "test": list(range(n_train, len(cameras)))}
    return PosedDataset(cameras, images_t, alphas, split, "blender", images)


def _nerfstudio(file: Path, downscale: float) -> PosedDataset:
    parsed = read_transforms(file, downscale)
    _needs_images(parsed.images, file)
    images_t, alphas = _load_images(parsed.images, parsed.sizes, _common_size(parsed.cameras, file))
    frames = parsed.meta["frames"]
    named = parsed.meta.get("test_filenames") or parsed.meta.get("val_filenames")
    if named:
        wanted = {os.path.normpath(str(n)) for n in named}
        test = [i for i, f in enumerate(frames) if os.path.normpath(str(f["file_path"])) in wanted]
        if not test:
            raise InputError(f"{file}: none of its test_filenames/val_filenames names a frame's file_path")
    else:
        test = list(range(0, len(frames), HOLDOUT_EVERY)) if len(frames) > 1 else []
    held = set(test)
    split = {"train": [i for i in range(len(frames)) if i not in held], "test": test}
    return PosedDataset(parsed.cameras, images_t, alphas, split, "nerfstudio", parsed.images)


def _colmap_model_folder(folder: Path) -> Optional[Path]:
    for candidate in (folder / "sparse" / "0", folder / "sparse", folder):
        if any((candidate / f"cameras.{ext}").is_file() for ext in ("bin", "txt")):
            return candidate
    return None


def _colmap(folder: Path, model: Path, downscale: float) -> PosedDataset:
    try:
        import pycolmap
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("reading COLMAP models needs pycolmap (pip install pycolmap)") from None
    try:
        rec = pycolmap.Reconstruction(str(model))
    except Exception as exc:  # pycolmap raises plain RuntimeError/ValueError on unreadable models
        raise InputError(f"{model}: cannot read the COLMAP model ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    image_dir = next((d for d in (folder / "images", model / "images", model.parent / "images",
                                  model.parent.parent / "images") if d.is_dir()), None)
    if image_dir is None:
        raise InputError(f"{folder}: COLMAP model found but no images/ folder beside it")
    entries = sorted(rec.images.values(), key=lambda im: im.name)
    if not entries:
        raise InputError(f"{model}: the COLMAP model has no registered images")
    viewmats, Ks, widths, heights, paths, sizes = [], [], [], [], [], []
    for im in entries:
        where = f"{model} image {im.name}"
        cam = rec.cameras[im.camera_id]
        fx, fy, cx, cy = _colmap_pinhole(cam, where)
        w, h = int(cam.width), int(cam.height)
        pose = im.cam_from_world() if callable(im.cam_from_world) else im.cam_from_world
        w2c = torch.eye(4, dtype=torch.float64)
        w2c[:3] = torch.as_tensor(np.asarray(pose.matrix()), dtype=torch.float64)
        if not torch.isfinite(w2c).all():
            raise InputError(f"{where}: pose holds NaN/inf")
        check_rigid(torch.linalg.inv(w2c), where)
        new_w, new_h = max(1, round(w / downscale)), max(1, round(h / downscale))
        sx, sy = new_w / w, new_h / h
        viewmats.append(w2c.float())
        Ks.append(intrinsics(fx * sx, fy * sy, cx * sx, cy * sy))
        widths.append(new_w)
        heights.append(new_h)
        image = image_dir / im.name
        if not image.is_file():
            raise InputError(f"{where}: image file {image} is missing")
        paths.append(image)
        sizes.append((w, h))
    cameras = Cameras(torch.stack(viewmats), torch.stack(Ks), torch.tensor(widths), torch.tensor(heights))
    images_t, alphas = _load_images(paths, sizes, _common_size(cameras, model))
    test = list(range(0, len(entries), HOLDOUT_EVERY)) if len(entries) > 1 else []
    split = {"train": [i for i in range(len(entries)) if i not in set(test)], "test": test}
    return PosedDataset(cameras, images_t, alphas, split, "colmap", paths)


def _colmap_pinhole(cam, where: str) -> tuple[float, float, float, float]:
    """``fx, fy, cx, cy`` of an undistorted COLMAP camera; InputError for distorted or unknown models."""
    model = str(cam.model.name if hasattr(cam.model, "name") else cam.model).split(".")[-1]
    p = [float(v) for v in cam.params]
    if model == "SIMPLE_PINHOLE":
        fx, fy, cx, cy = p[0], p[0], p[1], p[2]
    elif model == "PINHOLE":
        fx, fy, cx, cy = p[:4]
    elif model in ZERO_DISTORTION_MODELS and all(v == 0 for v in p[(3 if model.startswith(("SIMPLE", "RADIAL")) else 4):]):
        fx, fy, cx, cy = (p[0], p[0], p[1], p[2]) if model.startswith(("SIMPLE", "RADIAL")) else tuple(p[:4])
    else:
        raise InputError(f"{where}: camera model {model} has lens distortion; undistort the images first "
                         "(colmap image_undistorter) and point at the undistorted folder")
    if not all(math.isfinite(v) for v in (fx, fy, cx, cy)) or fx <= 0 or fy <= 0:
        raise InputError(f"{where}: intrinsics must be finite and positive")
    return fx, fy, cx, cy
