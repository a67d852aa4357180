"""Synthetic clips for the video tests, written with PyAV directly (independent of core.video.io)."""

from fractions import Fraction

import av
import numpy as np
import pytest


def _index_frames(count: int, width: int = 64, height: int = 48) -> list:
    """Frames whose gray level encodes their index (``8 * i + 16``), with a moving white square."""
    frames = []
    for i in range(count):
        rgb = np.full((height, width, 3), 8 * i + 16, np.uint8)
        x = (3 * i) % (width - 12)
        rgb[10:22, x:x + 12] = 255
        frames.append(rgb)
    return frames


def _encode_clip(path, frames, fps=10, codec="libx264", pix_fmt="yuv420p", audio_seconds=None, pts=None):
    """Write ``frames`` (``H,W,3`` uint8) to ``path``; optional stereo AAC sine track of ``audio_seconds``."""
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        audio = out.add_stream("aac", rate=44100, layout="stereo") if audio_seconds else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i if pts is None else pts[i]
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None:
            samples = 0
            while samples < audio_seconds * 44100:
                tone = (0.2 * np.sin(2 * np.pi * 440 * (samples + np.arange(1024)) / 44100)).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = 44100, samples
                out.mux(audio.encode(frame))
                samples += 1024
            out.mux(audio.encode(None))
    return path


def _audio_seconds_in(path) -> float:
    """Sum of audio packet durations (seconds) in ``path``; 0 without an audio stream."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return 0.0
        stream = container.streams.audio[0]
        ticks = sum(p.duration or 0 for p in container.demux(stream) if p.dts is not None and (p.pts or 0) >= 0)
        return float(ticks * stream.time_base)


def _write_audio_only(path):
    """An AAC file at ``path`` with one mono audio frame and no video stream."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture
def audio_only(tmp_path):
    """Path of an audio-only ``.m4a`` (no video stream)."""
    return _write_audio_only(tmp_path / "audio.m4a")


@pytest.fixture
def index_frames():
    return _index_frames


@pytest.fixture
def encode_clip():
    return _encode_clip


@pytest.fixture
def audio_seconds_in():
    return _audio_seconds_in


@pytest.fixture
def clip(tmp_path):
    """A 20-frame 64x48 H.264 clip at 10 fps (2 s)."""
    return _encode_clip(tmp_path / "clip.mp4", _index_frames(20))


