"""nerfstudio / Blender ``transforms.json`` files: reading them into :class:`~stylize3d.cameras.Cameras`, writing
them, nerfstudio's ``dataparser_transforms.json``, and the checks every camera file reader shares (JSON size and
depth, rigid poses, image sizes, focal lengths).

A file stores OpenGL camera-to-world ``transform_matrix`` poses; they become OpenCV world-to-camera ``viewmats``
with :func:`~stylize3d.cameras.c2w_opengl_to_viewmat`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from pathlib import Path

import torch

from core.errors import InputError
from core.io.images import MAX_IMAGE_SIDE, image_size
from stylize3d.cameras import Cameras, c2w_opengl_to_viewmat, intrinsics, viewmat_to_c2w_opengl

SUPPORTED_CAMERA_MODELS = ("PINHOLE", "SIMPLE_PINHOLE", "OPENCV")
DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")
FLOAT32_MAX, FLOAT32_TINY = 3.4e38, 1.2e-38
"""Focal lengths and positions must stay finite and non-zero as float32 (the tensors' type)."""
MAX_JSON_BYTES = 200_000_000
"""Camera and camera-path JSON files larger than this are refused before reading."""


def check_rigid(c2w: torch.Tensor, where: str, tolerance: float = 1e-3) -> None:
    """Raise :class:`InputError` unless ``c2w`` (4,4) is finite with an orthonormal, det +1 rotation."""
    if not torch.isfinite(c2w.to(torch.float32)).all():
        raise InputError(f"{where}: transform_matrix holds NaN/inf or values beyond float32")
    rot = c2w[:3, :3].to(torch.float64)
    orthonormal = torch.allclose(rot.T @ rot, torch.eye(3, dtype=torch.float64), atol=tolerance)
    if not orthonormal or abs(float(torch.linalg.det(rot)) - 1.0) > tolerance:
        raise InputError(f"{where}: transform_matrix is not a rigid transform (rotation is not orthonormal)")
    if not torch.allclose(c2w[3].to(torch.float64), torch.tensor([0.0, 0, 0, 1], dtype=torch.float64)):
        raise InputError(f"{where}: transform_matrix bottom row is not 0 0 0 1")


def parse_matrix(value, where: str, key: str = "transform_matrix") -> torch.Tensor:
    """A 4x4 float64 matrix from a JSON 4x4 or 3x4 nested list (or 16 numbers, row-major)."""
    if isinstance(value, list) and len(value) == 16 and not any(isinstance(v, list) for v in value):
        value = [value[r * 4:r * 4 + 4] for r in range(4)]
    try:
        m = torch.tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise InputError(f"{where}: {key} is not a numeric matrix") from None
    if m.shape == (3, 4):
        m = torch.cat([m, torch.tensor([[0.0, 0, 0, 1]], dtype=torch.float64)])
    if m.shape != (4, 4):
        raise InputError(f"{where}: {key} has shape {tuple(m.shape)}, expected 4x4")
    return m


def _number(value, key: str, where: str) -> float:
    """``value`` as a finite float; :class:`InputError` naming ``key`` when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {key} must be a number, got {str(value)[:40]!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(f"{where}: {key} must be a finite number, got {str(value)[:40]}")
    return number


def check_image_size(w, h, where: str) -> tuple[int, int]:
    """``(w, h)`` as ints after checking both are whole numbers in ``1..MAX_IMAGE_SIDE``; :class:`InputError` otherwise."""
    sizes = []
    for key, value in (("w", w), ("h", h)):
        number = _number(value, key, where)
        if number != int(number) or not 1 <= number <= MAX_IMAGE_SIDE:
            raise InputError(f"{where}: image size {key}={str(value)[:40]} must be a whole number of pixels in "
                             f"1..{MAX_IMAGE_SIDE} (core.io.images.MAX_IMAGE_SIDE)")
        sizes.append(int(number))
    return sizes[0], sizes[1]


def check_focal(value, key: str, where: str) -> float:
    """A focal length in pixels: finite and positive (so the field of view is in (0, pi))."""
    focal = _number(value, key, where)
    if not FLOAT32_TINY < focal < FLOAT32_MAX:
        raise InputError(f"{where}: focal length {key}={str(value)[:40]} must be positive and finite")
    return focal


def focal_from_fov(angle, key: str, size: int, where: str) -> float:
    """Focal length in pixels of a field of view ``angle`` (radians, in (0, pi)) across ``size`` pixels."""
    radians = _number(angle, key, where)
    if not 0 < radians < math.pi:
        raise InputError(f"{where}: field of view {key}={str(angle)[:40]} must be in (0, pi) radians")
    return check_focal(0.5 * size / math.tan(0.5 * radians), f"focal length from {key}", where)


def _frame_intrinsics(meta: dict, frame: dict, image: Path | None, where: str) -> tuple[float, float, float, float, int, int]:
    def get(key):
        return frame.get(key, meta.get(key))

    w, h = get("w"), get("h")
    if (w is None or h is None) and image is not None:
        w, h = image_size(image)
    if w is None or h is None:
        raise InputError(f"{where}: no image size (w, h) and no image file to read it from")
    w, h = check_image_size(w, h, where)
    if get("fl_x") is not None:
        fx = check_focal(get("fl_x"), "fl_x", where)
    elif get("camera_angle_x") is not None:
        fx = focal_from_fov(get("camera_angle_x"), "camera_angle_x", w, where)
    else:
        raise InputError(f"{where}: no focal length (fl_x) and no camera_angle_x")
    if get("fl_y") is not None:
        fy = check_focal(get("fl_y"), "fl_y", where)
    elif get("camera_angle_y") is not None:
        fy = focal_from_fov(get("camera_angle_y"), "camera_angle_y", h, where)
    else:
        fy = fx
    cx = w / 2 if get("cx") is None else _number(get("cx"), "cx", where)
    cy = h / 2 if get("cy") is None else _number(get("cy"), "cy", where)
    if max(abs(cx), abs(cy)) > FLOAT32_MAX:
        raise InputError(f"{where}: principal point ({cx:g}, {cy:g}) is out of range")
    return fx, fy, cx, cy, w, h


def _frame_image(path: Path, frame: dict, where: str) -> "Path | None | bool":
    """The image file a frame names (``.png`` tried when the extension is missing); None when it names none,
    False when the named file does not exist."""
    name = frame.get("file_path")
    if not name:
        return None
    if not isinstance(name, str) or "\0" in name:
        raise InputError(f"{where}: file_path must be a file name, got {str(name)[:40]!r}")
    image = path.parent / name
    if not image.is_file() and image.name and image.with_suffix(".png").is_file():
        image = image.with_suffix(".png")
    return image if image.is_file() else False


def read_json(path: Path, what: str):
    """The parsed JSON document at ``path``; :class:`InputError` naming ``what`` when missing or not JSON."""
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise InputError(f"{what} {path} is larger than {MAX_JSON_BYTES // 1_000_000} MB")
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, or an integer of over 4300 digits
        raise InputError(f"{path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to read") from None


def load_dataparser_transform(path: "str | os.PathLike") -> tuple[torch.Tensor, float]:
    """Read nerfstudio's ``dataparser_transforms.json`` → ``(T, scale)``: ``T`` a 4x4 float64 rigid transform.

    nerfstudio re-orients, centres and scales the capture's poses before training (``transform``: 3x4, ``scale``:
    a positive number) and writes both into its output folder. Splats it exports live in that training frame, so
    the capture's cameras must be moved the same way (:func:`apply_dataparser_transform`) to see them.
    """
    path = Path(path)
    doc = read_json(path, "dataparser transforms file")
    if not isinstance(doc, dict) or "transform" not in doc or "scale" not in doc:
        raise InputError(f"{path}: expected nerfstudio's dataparser_transforms.json with 'transform' and 'scale'")
    transform = parse_matrix(doc["transform"], f"{path} transform")
    check_rigid(transform, f"{path} transform")
    scale = _number(doc["scale"], "scale", str(path))
    if not scale > 0:
        raise InputError(f"{path}: scale must be finite and positive, got {scale:g}")
    return transform, scale


def apply_dataparser_transform(c2w: torch.Tensor, transform: torch.Tensor, scale: float) -> torch.Tensor:
    """Move ``B,4,4`` camera-to-world matrices into nerfstudio's training frame: ``T @ c2w``, then the camera
    positions (not the rotations) times ``scale``."""
    moved = transform.to(c2w) @ c2w
    moved[:, :3, 3] *= scale
    return moved


def load_transforms(path: "str | os.PathLike", downscale: float = 1.0,
                    dataparser: "str | os.PathLike | None" = None, require_images: bool = False) -> Cameras:
    """Load the cameras of a nerfstudio / Blender ``transforms.json`` (:func:`read_transforms`; missing photos
    only warn unless ``require_images``)."""
    return read_transforms(path, downscale, dataparser, require_images).cameras


@dataclasses.dataclass
class TransformsFile:
    """A parsed ``transforms.json``: ``cameras`` (one per frame, in file order), ``images`` (the frame's image file
    or None when it names none or it is missing), ``sizes`` (``(w, h)`` the file states for each frame, before
    ``downscale``) and the raw JSON document ``meta``."""

    cameras: Cameras
    images: list
    sizes: list
    meta: dict


def read_transforms(path: "str | os.PathLike", downscale: float = 1.0,
                    dataparser: "str | os.PathLike | None" = None, require_images: bool = True) -> TransformsFile:
    """Parse a nerfstudio / Blender ``transforms.json``.

    Global or per-frame intrinsics (``fl_x fl_y cx cy w h`` or ``camera_angle_x``), ``camera_model`` PINHOLE or
    OPENCV (distortion is ignored with a warning: the renderers are pinhole), ``downscale`` divides the image
    size and intrinsics. A frame's ``file_path`` is resolved relative to the JSON's folder (a missing extension is
    tried as ``.png``); the image is read only for its size when the file gives none. Missing images are an
    :class:`InputError` with ``require_images`` (for callers that read the photos), else one ``UserWarning``:
    rendering and stylizing need only the cameras. ``dataparser``: nerfstudio's ``dataparser_transforms.json``
    of the training run, applied to the poses so they match a splat exported from that run. Raises
    :class:`InputError` on any problem.
    """
    moved_by = load_dataparser_transform(dataparser) if dataparser is not None else None
    path = Path(path)
    meta = read_json(path, "cameras file")
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if not frames or not isinstance(frames, list):
        raise InputError(f"{path}: no 'frames' list with cameras")
    if not downscale > 0:
        raise InputError(f"downscale factor must be positive, got {downscale}")
    model = str(meta.get("camera_model", "PINHOLE")).upper()
    if model not in SUPPORTED_CAMERA_MODELS:
        raise InputError(f"{path}: camera_model {model[:40]} is not supported (use {', '.join(SUPPORTED_CAMERA_MODELS)})")
    if any(_number(meta.get(k) or 0.0, k, str(path)) != 0 for k in DISTORTION_KEYS):
        warnings.warn(f"{path}: lens distortion coefficients are ignored (pinhole rendering)", UserWarning, stacklevel=2)
    c2ws, Ks, widths, heights, missing, images, sizes = [], [], [], [], [], [], []
    for i, frame in enumerate(frames):
        where = f"{path} frame {i}"
        if not isinstance(frame, dict):
            raise InputError(f"{where}: a frame must be a JSON object, got {type(frame).__name__}")
        if "transform_matrix" not in frame:
            raise InputError(f"{where}: no transform_matrix")
        c2w = parse_matrix(frame["transform_matrix"], where)
        check_rigid(c2w, where)
        image = _frame_image(path, frame, where)
        if image is False:
            missing.append(frame["file_path"])
            image = None
            if require_images:
                continue
        fx, fy, cx, cy, w, h = _frame_intrinsics(meta, frame, image, where)
        new_w, new_h = check_image_size(max(1, round(w / downscale)), max(1, round(h / downscale)),
                                        f"{where} after --downscale {downscale:g}")
        sx, sy = new_w / w, new_h / h
        c2ws.append(c2w)
        Ks.append(intrinsics(fx * sx, fy * sy, cx * sx, cy * sy))
        widths.append(new_w)
        heights.append(new_h)
        images.append(image)
        sizes.append((w, h))
    if missing:
        message = f"{path}: {len(missing)} image(s) named by frames are missing, e.g. {missing[0]}"
        if require_images:
            raise InputError(message)
        warnings.warn(f"{message}; using their cameras only (the photos are not needed here)", UserWarning,
                      stacklevel=2)
    c2w = torch.stack(c2ws)
    if moved_by is not None:
        c2w = apply_dataparser_transform(c2w, *moved_by)
    viewmats, Ks = c2w_opengl_to_viewmat(c2w), torch.stack(Ks)
    if not (torch.isfinite(viewmats).all() and torch.isfinite(Ks).all()):
        raise InputError(f"{path}: camera positions or intrinsics overflow float32")
    return TransformsFile(Cameras(viewmats, Ks, torch.tensor(widths), torch.tensor(heights)), images, sizes, meta)


def transforms_dict(cameras: Cameras) -> dict:
    """A nerfstudio-style ``transforms.json`` dict (per-frame intrinsics, no image files) for ``cameras``."""
    c2w = viewmat_to_c2w_opengl(cameras.viewmats)
    frames = []
    for i in range(len(cameras)):
        K = cameras.Ks[i]
        frames.append({
            "fl_x": float(K[0, 0]), "fl_y": float(K[1, 1]), "cx": float(K[0, 2]), "cy": float(K[1, 2]),
            "w": int(cameras.widths[i]), "h": int(cameras.heights[i]),
            "transform_matrix": [[round(float(v), 7) for v in row] for row in c2w[i]],
        })
    return {"camera_model": "PINHOLE", "frames": frames}
