"""The pictures of a capture: a folder of photos (EXIF orientation applied) or frames picked from a video.

Video frames are picked spread over the clip, preferring sharp ones: the clip is cut into N equal time slots and
each slot keeps its frame with the highest variance of the Laplacian (a standard focus / motion-blur measure),
measured on a grey copy at most :data:`SHARPNESS_SIDE` pixels long.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core.errors import InputError
from core.io.images import open_checked_image
from core.video.io import IMAGE_SUFFIXES, open_container, probe_video

MIN_IMAGES = 3
SHARPNESS_SIDE = 480
ASPECT_TOLERANCE = 0.01


@dataclasses.dataclass
class Picture:
    """One input picture: ``image`` an RGB PIL image (upright), ``name`` the output file stem, ``source`` where it
    came from (a file, or ``video.mp4@12.345s``), ``sharpness`` the Laplacian variance for video frames."""

    image: Image.Image
    name: str
    source: str
    sharpness: float | None = None


def is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a ``H,W`` grey image (any scale); higher is sharper."""
    g = grey.astype(np.float32)
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


def _sharpness(image: Image.Image) -> float:
    grey = image.convert("L")
    scale = SHARPNESS_SIDE / max(grey.size)
    if scale < 1:
        grey = grey.resize((max(3, round(grey.width * scale)), max(3, round(grey.height * scale))), Image.BILINEAR)
    return laplacian_variance(np.asarray(grey))


def read_photos(folder: Path) -> list[Picture]:
    """Every image file in ``folder`` (sorted by name), upright by its EXIF orientation, RGB."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{folder}: the folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
    pictures = []
    for file in files:
        img = ImageOps.exif_transpose(open_checked_image(file))
        pictures.append(Picture(img.convert("RGB"), file.stem, str(file)))
    return pictures


def read_video_frames(path: Path, count: int) -> list[Picture]:
    """``count`` frames of the video at ``path``: the sharpest of each of ``count`` equal time slots."""
    info = probe_video(path)
    slots: dict[int, Picture] = {}
    duration = info.duration_s
    seen = 0
    try:
        with open_container(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                seen += 1
                t = float(frame.pts * stream.time_base) if frame.pts is not None else seen / float(info.fps)
                if duration:
                    slot = min(count - 1, int(count * max(t, 0.0) / duration))
                else:  # no duration in the header: fall back to frame order once decoded (costs memory)
                    slot = seen - 1
                image = frame.to_image()
                score = _sharpness(image)
                best = slots.get(slot)
                if best is None or score > best.sharpness:
                    slots[slot] = Picture(image.convert("RGB"), "", f"{path}@{t:.3f}s", score)
    except (OSError, ValueError) as exc:  # av.error.FFmpegError derives from OSError/ValueError
        raise InputError(f"{path}: cannot decode the video ({exc})") from None
    if not duration and slots:  # re-slot by frame order
        order = [slots[k] for k in sorted(slots)]
        edges = np.linspace(0, len(order), count + 1).astype(int)
        slots = {i: max(order[a:b], key=lambda p: p.sharpness) for i, (a, b) in enumerate(zip(edges, edges[1:])) if b > a}
    if not slots:
        raise InputError(f"{path}: the video has no decodable frames")
    pictures = [slots[k] for k in sorted(slots)]
    for i, picture in enumerate(pictures):
        picture.name = f"frame_{i + 1:05d}"
    return pictures


def read_pictures(path: "str | os.PathLike", video_frames: int = 60) -> list[Picture]:
    """The pictures of ``path`` (a folder of photos or a video file), at least :data:`MIN_IMAGES` of them."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"capture input {path} does not exist")
    if path.is_dir():
        pictures = read_photos(path)
    elif is_video(path):
        if video_frames < MIN_IMAGES:
            raise InputError(f"--frames must be at least {MIN_IMAGES}, got {video_frames}")
        pictures = read_video_frames(path, video_frames)
    else:
        raise InputError(f"{path}: give a folder of photos or a video file, not a single image")
    if len(pictures) < MIN_IMAGES:
        raise InputError(f"{path}: {len(pictures)} image(s); structure from motion needs at least {MIN_IMAGES} "
                         "overlapping pictures (20 or more work best)")
    return pictures


def common_size(pictures: list[Picture]) -> tuple[int, int]:
    """Bring every picture to the most common size: same aspect ratio (within 1 %) → resized with a warning;
    a different aspect ratio → :class:`InputError` (one camera model per capture)."""
    sizes = Counter(p.image.size for p in pictures)
    (w, h), _ = sizes.most_common(1)[0]
    if len(sizes) == 1:
        return w, h
    odd = [p for p in pictures if p.image.size != (w, h)]
    for p in odd:
        pw, ph = p.image.size
        if abs((pw / ph) / (w / h) - 1) > ASPECT_TOLERANCE:
            raise InputError(f"{p.source}: {pw}x{ph} has a different aspect ratio from the other pictures ({w}x{h}); "
                             "use pictures from one camera setting (or crop them alike)")
    warnings.warn(f"{len(odd)} picture(s) are not {w}x{h} (e.g. {odd[0].source}, {odd[0].image.size[0]}x"
                  f"{odd[0].image.size[1]}); resized to {w}x{h}", UserWarning, stacklevel=2)
    for p in odd:
        p.image = p.image.resize((w, h), Image.LANCZOS)
    return w, h
