"""Read and write images as ``1,3,H,W`` float32 tensors in ``[0, 1]`` (RGB).

Grayscale, RGBA (composited on white), 16-bit, palette and CMYK inputs are converted, not rejected.
"""

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from core.atomic import atomic_output
from core.errors import InputError
from core.io.image_files import (IMAGE_SUFFIXES, MAX_IMAGE_SIDE, MAX_INPUT_PIXELS, MAX_WORKING_PIXELS,  # noqa: F401
                                  MIN_SIDE, check_image_output, check_long_side, check_min_side,
                                  check_working_size, image_size, open_checked_image, rgb_array)


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
    check_min_side(path, img.size)
    tensor = torch.from_numpy(rgb_array(img).copy()).permute(2, 0, 1).unsqueeze(0).contiguous()
    if long_side is not None:
        check_long_side(long_side)
        tensor = resize_long_side(tensor, long_side)
    check_working_size(path, tensor.shape[-1], tensor.shape[-2])
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
