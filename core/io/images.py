"""Read and write images as ``1,3,H,W`` float32 tensors in ``[0, 1]`` (RGB).

Grayscale, RGBA (composited on white), 16-bit, palette and CMYK inputs are converted, not rejected.
"""

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
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


def _to_rgb_array(img: Image.Image) -> np.ndarray:
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


def resize_long_side(image: torch.Tensor, long_side: int) -> torch.Tensor:
    """Resize ``B,C,H,W`` so that its longer side is ``long_side`` (antialiased bicubic, clamped to [0,1])."""
    h, w = image.shape[-2:]
    scale = long_side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return image
    out = F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=True)
    return out.clamp(0.0, 1.0)


def load_image(path: "str | os.PathLike", long_side: "int | None" = None, device="cpu") -> torch.Tensor:
    """Load an image file as ``1,3,H,W`` float32 RGB in ``[0,1]``, optionally resized to ``long_side`` px.

    Raises :class:`InputError` for missing, unreadable, truncated, tiny (< 16 px) or oversized images.
    """
    path = Path(path)
    img = open_checked_image(path)
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise InputError(f"{path}: image is {w}x{h}; at least {MIN_SIDE}x{MIN_SIDE} pixels are needed")
    tensor = torch.from_numpy(_to_rgb_array(img).copy()).permute(2, 0, 1).unsqueeze(0).contiguous()
    if long_side is not None:
        if long_side < MIN_SIDE:
            raise InputError(f"--size {long_side} is too small; use at least {MIN_SIDE}")
        tensor = resize_long_side(tensor, long_side)
    h, w = tensor.shape[-2:]
    if h * w > MAX_WORKING_PIXELS:
        raise InputError(f"{path}: {w}x{h} is too large to process ({h * w:,} pixels); pass --size to downscale, e.g. --size 1024")
    return tensor.to(device)


def load_mask(path: "str | os.PathLike", size: "tuple[int, int]", device="cpu") -> torch.Tensor:
    """Load a grayscale mask resized to ``size=(H, W)`` as ``1,1,H,W`` in ``[0,1]`` (white = 1)."""
    rgb = load_image(path, device=device)
    gray = rgb.mean(dim=1, keepdim=True)
    return F.interpolate(gray, size=size, mode="bilinear", align_corners=False).clamp(0.0, 1.0)


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """``3,H,W`` or ``1,3,H,W`` in [0,1] → 8-bit RGB PIL image (values clamped, rounded)."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected a single image, got batch of {image.shape[0]}")
        image = image[0]
    arr = (image.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy())
    return Image.fromarray(arr, mode="RGB")


def save_image(image: torch.Tensor, path: "str | os.PathLike") -> Path:
    """Write ``3,H,W`` / ``1,3,H,W`` in [0,1] atomically; the format follows the file extension."""
    path = Path(path)
    pil = tensor_to_pil(image)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown image extension {path.suffix!r}; use .png or .jpg")
    with atomic_output(path) as tmp:
        pil.save(tmp, format=fmt)
    return path
