"""Image files without torch: the size and format checks every reader applies, and ``H,W,3`` float32 arrays.

:mod:`core.io.images` builds its ``1,3,H,W`` tensors on these; the torch-free fast path (:mod:`core.image.fast_ort`)
uses them directly, so the two refuse the same files with the same messages.
"""

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.atomic import atomic_output
from core.errors import InputError

MAX_INPUT_PIXELS = 50_000_000
"""Inputs with more pixels than this are refused (decompression-bomb guard)."""
MAX_WORKING_PIXELS = 16_000_000
"""Working sizes (after ``long_side``) above this are refused with a hint to pass ``--size``."""
MIN_SIDE = 16
MAX_IMAGE_SIDE = 32768
"""Images, and camera image sizes in 3D camera files, with a longer side than this are refused."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
"""File suffixes read as images everywhere (inputs, folders of frames, outputs)."""


def check_image_output(path: "str | os.PathLike") -> Path:
    """``path`` as a Path when it ends in an image suffix we write; otherwise :class:`InputError`."""
    out = Path(path)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"output {out} must end in one of {', '.join(IMAGE_SUFFIXES)}")
    return out


def open_checked_image(path: Path, load: bool = True) -> Image.Image:
    """The opened image after the size checks (decoded when ``load``); :class:`InputError` for anything unreadable."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected an image file")
    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit below with a clearer message
    try:
        img = Image.open(path)
        w, h = img.size
        if max(w, h) > MAX_IMAGE_SIDE:
            raise InputError(f"{path}: {w}x{h} image has a side longer than {MAX_IMAGE_SIDE:,} pixels; downscale it first")
        if w * h > MAX_INPUT_PIXELS:
            raise InputError(f"{path}: {w}x{h} image is larger than {MAX_INPUT_PIXELS:,} pixels; downscale it first")
        if load:
            img.load()
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image file (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: cannot read image ({_one_line(exc)}); is it truncated or corrupt?") from None
    return img


def _one_line(exc: Exception) -> str:
    """An exception's message on one line (decoders quote raw bytes with newlines in them)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def image_size(path: "str | os.PathLike") -> "tuple[int, int]":
    """``(width, height)`` of an image file, read from its header; the checks of :func:`load_image` on the size."""
    with open_checked_image(Path(path), load=False) as img:
        return img.size


def rgb_array(img: Image.Image) -> np.ndarray:
    """Any PIL mode → ``H,W,3`` float32 in [0,1]. Alpha is composited over white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        peak = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / peak, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "F":
        arr = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3:4]
        return rgba[..., :3] * alpha + (1.0 - alpha)
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def read_rgb(path: "str | os.PathLike", long_side: "int | None" = None) -> np.ndarray:
    """An image file as ``H,W,3`` float32 RGB in [0,1], optionally resized (PIL bicubic, antialiased when
    shrinking) to ``long_side`` px; the checks and messages of :func:`core.io.images.load_image`."""
    path = Path(path)
    img = open_checked_image(path)
    check_min_side(path, img.size)
    array = rgb_array(img)
    if long_side is not None:
        check_long_side(long_side)
        h, w = array.shape[:2]
        scale = long_side / max(w, h)
        array = resize_rgb(array, (max(1, round(w * scale)), max(1, round(h * scale))))
    check_working_size(path, array.shape[1], array.shape[0])
    return array


def resize_rgb(array: np.ndarray, size: "tuple[int, int]", clip: bool = True) -> np.ndarray:
    """``H,W,C`` float32 resized to ``size=(width, height)`` (PIL bicubic per channel in float, antialiased when
    shrinking), clipped to [0,1] unless not ``clip`` (bicubic overshoots); the array itself when the size already
    matches."""
    if (array.shape[1], array.shape[0]) == tuple(size):
        return array
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(array[..., c], dtype=np.float32), mode="F")
                           .resize(tuple(size), Image.BICUBIC)) for c in range(array.shape[2])]
    out = np.stack(channels, axis=-1)
    return np.clip(out, 0.0, 1.0) if clip else out


def check_min_side(path: Path, size: "tuple[int, int]") -> None:
    """:class:`InputError` when an image of ``size=(w, h)`` is below :data:`MIN_SIDE` on a side."""
    w, h = size
    if min(w, h) < MIN_SIDE:
        raise InputError(f"{path}: image is {w}x{h}; at least {MIN_SIDE}x{MIN_SIDE} pixels are needed")


def check_long_side(long_side: int) -> None:
    """:class:`InputError` for a requested ``--size`` below :data:`MIN_SIDE`."""
    if long_side < MIN_SIDE:
        raise InputError(f"--size {long_side} is too small; use at least {MIN_SIDE}")


def check_working_size(path: Path, w: int, h: int) -> None:
    """:class:`InputError` when a working size of ``w×h`` exceeds :data:`MAX_WORKING_PIXELS`."""
    if h * w > MAX_WORKING_PIXELS:
        raise InputError(f"{path}: {w}x{h} is too large to process ({h * w:,} pixels); pass --size to downscale, "
                         f"e.g. --size 1024")


def write_rgb(array: np.ndarray, path: "str | os.PathLike", compress_level: int = 6) -> Path:
    """Write ``H,W,3`` in [0,1] atomically as 8-bit RGB (values clipped, rounded); the format follows the file
    extension. ``compress_level``: PNG zlib level (0-9; ignored by other formats)."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown image extension {path.suffix!r}; use .png or .jpg")
    pil = Image.fromarray((np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), mode="RGB")
    with atomic_output(path) as tmp:
        pil.save(tmp, format=fmt, **({"compress_level": compress_level} if fmt == "PNG" else {}))
    return path
