"""Write rendered frames as a video (H.264 MP4 / GIF / PNG folder) atomically, with core's PyAV writer."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable

import torch

from core.atomic import atomic_output
from core.video.io import VideoWriter


def write_frames(frames: Iterable[torch.Tensor], path: "str | os.PathLike", width: int, height: int,
                 fps: float = 24) -> None:
    """Encode ``frames`` (each ``1,3,H,W`` or ``3,H,W`` in [0,1], ``width x height``, even sizes for MP4) into
    ``path`` (``.mp4``/``.mov``/``.mkv`` H.264, or ``.gif``); the file appears only when complete."""
    with atomic_output(path) as tmp:
        with VideoWriter(tmp, width, height, Fraction(fps).limit_denominator(1001)) as writer:
            for frame in frames:
                writer.write(frame.detach().float().cpu().clamp(0, 1))
