"""Image folders as an endless stream of augmented random crops for decoder training.

Images are read once (long side capped at ``max_side``) and kept in memory as ``1,3,H,W`` float32 in [0,1].
Each sample: random rescale by a factor in ``scale`` (never below the crop size), random ``crop × crop``
window, horizontal flip with probability 1/2 and, when enabled, colour jitter (brightness, contrast and
saturation factors drawn from ``[1 − j, 1 + j]``). All randomness comes from one ``torch.Generator`` whose state
can be saved and restored, so a resumed run sees the same stream.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import torch
import torch.nn.functional as F

from core.errors import InputError, StylizeError
from core.io.images import IMAGE_SUFFIXES, load_image, resize_long_side


def list_images(folder: "str | Path", role: str) -> List[Path]:
    """Image files directly inside ``folder`` (sorted); :class:`InputError` when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{role} folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{role} folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def load_folder(folder: "str | Path", role: str, max_side: int, min_side: int) -> "tuple[List[Path], List[torch.Tensor]]":
    """Read every image of ``folder`` at long side ≤ ``max_side``; images whose short side would be below
    ``min_side`` are upscaled to it. Unreadable files raise :class:`InputError` naming the file."""
    files = list_images(folder, role)
    images = []
    for path in files:
        try:
            img = load_image(path)
        except StylizeError as exc:
            raise InputError(f"{role} folder {folder}: {exc}") from None
        if max(img.shape[-2:]) > max_side:
            img = resize_long_side(img, max_side)
        short = min(img.shape[-2:])
        if short < min_side:
            img = resize_long_side(img, round(max(img.shape[-2:]) * min_side / short) + 1)
        images.append(img)
    return files, images


@dataclass
class Augment:
    """Augmentation settings of :class:`CropStream`."""

    crop: int = 256
    scale: "tuple[float, float]" = (0.5, 1.0)
    flip: bool = True
    jitter: float = 0.0


class CropStream:
    """Random augmented crops ``B,3,crop,crop`` from in-memory images, with the image indices they came from."""

    def __init__(self, images: Sequence[torch.Tensor], augment: Augment, seed: int = 0):
        if not images:
            raise InputError("no training images")
        self.images = list(images)
        self.augment = augment
        self.generator = torch.Generator().manual_seed(seed)

    def _uniform(self, low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=self.generator))

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (), generator=self.generator))

    def sample(self, index: int) -> torch.Tensor:
        """One augmented crop ``1,3,crop,crop`` of image ``index``."""
        a = self.augment
        img = self.images[index]
        h, w = img.shape[-2:]
        factor = max(self._uniform(*a.scale), a.crop / min(h, w))
        size = (max(a.crop, round(h * factor)), max(a.crop, round(w * factor)))
        if size != (h, w):
            img = F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=factor < 1).clamp(0, 1)
        top, left = self._randint(size[0] - a.crop + 1), self._randint(size[1] - a.crop + 1)
        out = img[..., top:top + a.crop, left:left + a.crop]
        if a.flip and self._uniform(0, 1) < 0.5:
            out = out.flip(-1)
        if a.jitter > 0:
            out = colour_jitter(out, *(self._uniform(1 - a.jitter, 1 + a.jitter) for _ in range(3)))
        return out

    def batch(self, size: int) -> "tuple[torch.Tensor, torch.Tensor]":
        """``size`` crops of uniformly drawn images: ``B,3,crop,crop`` and their image indices ``B``."""
        indices = torch.randint(len(self.images), (size,), generator=self.generator)
        return torch.cat([self.sample(int(i)) for i in indices]), indices

    def state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)


def colour_jitter(image: torch.Tensor, brightness: float, contrast: float, saturation: float) -> torch.Tensor:
    """Scale brightness, contrast (around the mean grey) and saturation (around the per-pixel grey) of
    ``B,3,H,W`` in [0,1] by the given factors (1 = unchanged); result clamped to [0,1]."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    out = (image * brightness).clamp(0, 1)
    grey_mean = (out * weights).sum(1, keepdim=True).mean(dim=(2, 3), keepdim=True)
    out = ((out - grey_mean) * contrast + grey_mean).clamp(0, 1)
    grey = (out * weights).sum(1, keepdim=True)
    return ((out - grey) * saturation + grey).clamp(0, 1)
