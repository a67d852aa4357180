"""Fuzzing the image reader (PIL) and the video reader (PyAV), seeded from small files made from scenes/."""

import functools
import io
import struct
import zlib

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from core.errors import InputError
from core.io.images import MAX_IMAGE_SIDE, MAX_WORKING_PIXELS, image_size, load_image
from core.video.io import VideoReader, VideoWriter
from tests.fuzz.harness import SCENES, check_reader, examples, mutated_bytes, seed_dir, write_input

IMAGE_FORMATS = ["png", "jpeg", "gif", "bmp", "tiff", "webp"]


@functools.lru_cache(maxsize=None)
def image_seeds() -> dict:
    """The bundled cat photo at 40x27 px in each format PIL writes, plus an RGBA PNG."""
    with Image.open(SCENES / "images" / "cat.png") as im:
        small = im.convert("RGB").resize((40, 27))
    out = {}
    for fmt in IMAGE_FORMATS:
        buffer = io.BytesIO()
        small.save(buffer, format=fmt.upper())
        out[fmt] = buffer.getvalue()
    buffer = io.BytesIO()
    small.convert("RGBA").save(buffer, format="PNG")
    out["rgba_png"] = buffer.getvalue()
    return out


def _valid_image(image: torch.Tensor) -> None:
    assert image.dtype == torch.float32 and image.dim() == 4 and image.shape[:2] == (1, 3)
    assert image.shape[-1] * image.shape[-2] <= MAX_WORKING_PIXELS
    assert torch.isfinite(image).all() and image.min() >= 0 and image.max() <= 1


@pytest.mark.parametrize("fmt", IMAGE_FORMATS + ["rgba_png"])
@examples(6)
@given(data=st.data())
def test_image_byte_mutations(fmt, data):
    path = write_input(f"fuzz.{fmt.split('_')[-1]}", data.draw(mutated_bytes(image_seeds()[fmt])))
    check_reader(load_image, path, valid=_valid_image)
    check_reader(image_size, path)


def _png_with_size(width: int, height: int) -> bytes:
    """The PNG seed with its IHDR width/height replaced (CRC fixed, so only the size is hostile)."""
    seed = image_seeds()["png"]
    start = seed.index(b"IHDR")
    body = struct.pack(">II", width, height) + seed[start + 12:start + 17]
    chunk = b"IHDR" + body
    return seed[:start] + chunk + struct.pack(">I", zlib.crc32(chunk)) + seed[start + 21:]


@examples(10)
@given(width=st.sampled_from([0, 1, 15, 16, 40, 41, MAX_IMAGE_SIDE + 1, 60_000, 2 ** 31 - 1, 2 ** 32 - 1]),
       height=st.sampled_from([0, 1, 27, 26, 1000, 2 ** 31 - 1]))
def test_png_declared_size_edits(width, height):
    check_reader(load_image, write_input("size.png", _png_with_size(width, height)), valid=_valid_image)


def test_png_declaring_a_huge_size_is_refused_before_decoding():
    with pytest.raises(InputError, match=f"side longer than {MAX_IMAGE_SIDE:,} pixels"):
        load_image(write_input("huge.png", _png_with_size(100_000, 100_000)))


# ------------------------------------------------------------------------------------------------ video

VIDEO_FRAMES = 6


@functools.lru_cache(maxsize=None)
def video_seeds() -> dict:
    """The first frames of the bundled clip, re-encoded small as H.264 mp4 and as a GIF by our writer."""
    out = {}
    for suffix in ("mp4", "gif"):
        path = seed_dir() / f"seed.{suffix}"
        reader = VideoReader(SCENES / "video" / "bbb_clip.mp4", max_frames=VIDEO_FRAMES, long_side=64)
        with VideoWriter(path, *reader.size, reader.fps) as writer:
            for frame in reader:
                writer.write(frame)
        out[suffix] = path.read_bytes()
    return out


def _read_video(path):
    reader = VideoReader(path, max_frames=3, long_side=32)
    return list(reader)


def _valid_frames(frames) -> None:
    assert 1 <= len(frames) <= 3
    for frame in frames:
        assert frame.shape[:2] == (1, 3) and max(frame.shape[-2:]) == 32
        assert torch.isfinite(frame).all() and 0 <= frame.min() and frame.max() <= 1


@pytest.mark.parametrize("suffix", ["mp4", "gif"])
@examples(6)
@given(data=st.data())
def test_video_byte_mutations(suffix, data):
    path = write_input(f"fuzz.{suffix}", data.draw(mutated_bytes(video_seeds()[suffix], max_edits=3)))
    check_reader(_read_video, path, valid=_valid_frames)


@pytest.mark.parametrize("suffix", ["mp4", "gif"])
def test_video_seeds_are_read(suffix):
    assert len(_read_video(write_input(f"seed.{suffix}", video_seeds()[suffix]))) == 3
