"""Streamed video input and output with PyAV: frames as ``1,3,H,W`` float32 tensors in ``[0, 1]``.

Inputs: any container FFmpeg decodes (mp4, mov, webm, mkv, avi, animated GIF) or a folder of images
(an image sequence, sorted by file name). Outputs: H.264 ``yuv420p`` in mp4/mov/mkv at the source frame
rate (audio copied from the source when present), an animated GIF, or a folder of PNG frames.

Nothing holds more than a couple of frames: reading is a generator and writing encodes each frame as it
arrives, so memory does not grow with the length of the video.
"""

import dataclasses
import os
import shutil
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np
import torch
import torch.nn.functional as F

from core.errors import InputError
from core.io.images import IMAGE_SUFFIXES, MAX_IMAGE_SIDE, load_image

MAX_LONG_SIDE = 1920
"""Inputs whose longer side exceeds this are downscaled to it (with a notice) unless ``long_side`` is given."""
SEQUENCE_FPS = Fraction(24)
"""Frame rate assumed for image-sequence folders."""
H264_SUFFIXES = (".mp4", ".mov", ".mkv")
MP4_AUDIO_CODECS = ("aac", "mp3", "ac3", "eac3", "alac", "opus", "flac")
"""Audio codecs that can be copied into an mp4/mov/mkv file without re-encoding."""


def notice(message: str) -> None:
    """Tell the user (one line on stderr) about an automatic adjustment: downscaling, resampling, dropped audio."""
    print(f"notice: {message}", file=sys.stderr)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns about an input without decoding it."""

    path: Path
    width: int
    height: int
    fps: Fraction
    duration_s: "float | None"
    frame_count: "int | None"
    has_audio: bool
    is_sequence: bool


def open_container(path: Path):
    """``path`` opened for reading with PyAV (a context manager); :class:`InputError` for a missing, unreadable or
    corrupt file."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        return av.open(os.fspath(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read video ({exc}); is it truncated or corrupt?") from None


def _sequence_files(folder: Path) -> list:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _stream_fps(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise InputError("video stream has no usable frame rate")
    return Fraction(rate)


def probe_video(path: "str | os.PathLike", sequence_fps: "Fraction | float" = SEQUENCE_FPS) -> VideoInfo:
    """Read size, frame rate, duration and audio presence of a video file or image-sequence folder
    (whose frame rate is ``sequence_fps``).

    Raises :class:`InputError` for a missing path, an unreadable/corrupt file, a file without a video
    stream, or an empty image folder.
    """
    path = Path(path)
    if path.is_dir():
        files = _sequence_files(path)
        if not files:
            raise InputError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)}); zero frames")
        first = load_image(files[0])
        fps = Fraction(sequence_fps).limit_denominator(1001)
        if fps <= 0:
            raise InputError(f"--fps {sequence_fps}: must be positive")
        return VideoInfo(path, first.shape[-1], first.shape[-2], fps, len(files) / float(fps), len(files), False, True)
    with open_container(path) as container:
        if not container.streams.video:
            raise InputError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise InputError(f"{path}: video stream has a codec FFmpeg cannot decode; is the file corrupt?")
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise InputError(f"{path}: video stream has no frame size; is the file corrupt?")
        if max(width, height) > MAX_IMAGE_SIDE:
            raise InputError(f"{path}: {width}x{height} video frames have a side longer than {MAX_IMAGE_SIDE:,} pixels")
        duration = None
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        fps = _stream_fps(stream)
        if stream.frames and duration:
            measured = Fraction(stream.frames / duration).limit_denominator(1001)
            if abs(measured / fps - 1) > 0.01:  # GIF delays in centiseconds, badly muxed files
                fps = measured
        return VideoInfo(path, width, height, fps, duration, stream.frames or None,
                         bool(container.streams.audio), False)


def working_size(width: int, height: int, long_side: "int | None" = None, max_long_side: "int | None" = None) -> tuple:
    """Frame size ``(W, H)`` used for processing, both sides rounded to even numbers as H.264 ``yuv420p`` needs.

    ``long_side`` resizes to exactly that long side; otherwise the source size is kept up to ``max_long_side``
    (default :data:`MAX_LONG_SIDE`) and larger inputs are downscaled to it with a notice.
    """
    longest = max(width, height)
    cap = MAX_LONG_SIDE if max_long_side is None else max_long_side
    if long_side is not None:
        if long_side < 16:
            raise InputError(f"--size {long_side} is too small; use at least 16")
        scale = long_side / longest
    elif longest > cap:
        scale = cap / longest
        notice(f"input is {width}x{height}; downscaled to {cap} px on the long side (pass --size to choose)")
    else:
        scale = 1.0
    even = lambda x: max(2, int(round(x * scale / 2.0)) * 2)  # noqa: E731 - tiny local helper
    return even(width), even(height)


def _to_tensor(rgb: np.ndarray, device) -> torch.Tensor:
    """``H,W,3`` uint8 → ``1,3,H,W`` float32 in [0,1]."""
    return torch.from_numpy(rgb).to(device).permute(2, 0, 1).unsqueeze(0).float().div_(255.0).contiguous()


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """``1,3,H,W`` or ``3,H,W`` float in [0,1] → contiguous ``H,W,3`` uint8 (clamped, rounded)."""
    if frame.dim() == 4:
        frame = frame[0]
    return np.ascontiguousarray(frame.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy())


class VideoReader:
    """Iterate over the frames of a video file or image folder, resized to :func:`working_size`.

    ``start``/``end`` are seconds from the beginning of the video, ``max_frames`` caps the count; ``long_side``
    and ``max_long_side`` pick the size as in :func:`working_size`; ``sequence_fps`` is the rate of an image
    folder. Frames
    are resampled to the constant rate ``info.fps``: output frame ``n`` is the source frame on screen at
    ``start + n / fps`` (a no-op for constant-rate input; variable-rate input gets a notice).
    """

    def __init__(self, path, start: float = 0.0, end: "float | None" = None, max_frames: "int | None" = None,
                 long_side: "int | None" = None, max_long_side: "int | None" = None, device="cpu",
                 sequence_fps: "Fraction | float" = SEQUENCE_FPS):
        self.info = probe_video(path, sequence_fps)
        if start < 0 or (end is not None and end <= start):
            raise InputError(f"--start {start} / --end {end}: need 0 <= start < end")
        if max_frames is not None and max_frames < 1:
            raise InputError(f"--max-frames {max_frames}: need at least 1")
        duration = self.info.duration_s
        if duration is not None and start >= duration:
            raise InputError(f"--start {start:g} s is past the end of the video ({duration:.2f} s)")
        self.start, self.end, self.max_frames, self.device = start, end, max_frames, device
        self.size = working_size(self.info.width, self.info.height, long_side, max_long_side)

    @property
    def fps(self) -> Fraction:
        return self.info.fps

    def __iter__(self) -> Iterator[torch.Tensor]:
        count = 0
        source = self._sequence_frames() if self.info.is_sequence else self._resampled_frames()
        for frame in source:
            if self.max_frames is not None and count >= self.max_frames:
                return
            if self.end is not None and self.start + count / float(self.fps) >= self.end - 1e-9:
                return
            count += 1
            yield frame
        if count == 0:
            raise InputError(f"{self.info.path}: no frames to read after --start {self.start:g} s (zero frames)")

    def _sequence_frames(self) -> Iterator[torch.Tensor]:
        files = _sequence_files(self.info.path)
        first = int(round(self.start * float(self.fps)))
        for file in files[first:]:
            image = load_image(file)
            if image.shape[-2:] != (self.info.height, self.info.width):
                raise InputError(f"{file}: is {image.shape[-1]}x{image.shape[-2]}, but the first frame is "
                                 f"{self.info.width}x{self.info.height}; all frames must have one size")
            w, h = self.size
            if (h, w) != image.shape[-2:]:
                image = F.interpolate(image, size=(h, w), mode="area" if h < image.shape[-2] else "bilinear")
            yield image.clamp(0, 1).to(self.device).contiguous()

    def _decoded(self) -> Iterator[tuple]:
        """Yield ``(seconds since stream start, H,W,3 uint8)`` from the keyframe before ``start`` on."""
        path = self.info.path
        w, h = self.size
        with open_container(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
            if self.start > 0:
                try:
                    container.seek(int((self.start + (origin or 0.0)) / stream.time_base), stream=stream, backward=True)
                except av.error.FFmpegError:
                    container.seek(0)
            index = 0
            try:
                for frame in container.decode(stream):
                    if frame.time is None:
                        time_s = index / float(self.fps)
                    else:
                        origin = frame.time if origin is None else origin
                        time_s = frame.time - origin
                    index += 1
                    yield time_s, frame.to_ndarray(width=w, height=h, format="rgb24", interpolation="AREA")
            except av.error.FFmpegError as exc:
                raise InputError(f"{path}: decoding failed after {index} frames ({exc}); the file is truncated or corrupt") from None

    def _resampled_frames(self) -> Iterator[torch.Tensor]:
        fps = float(self.fps)
        held = None  # (slot, rgb): the latest decoded frame, shown from its slot until the next frame's
        next_slot = 0
        irregular = 0
        for time_s, rgb in self._decoded():
            slot = int(round((time_s - self.start) * fps))
            if held is not None:
                irregular += slot != held[0] + 1
                while next_slot < slot:
                    yield _to_tensor(held[1], self.device)
                    next_slot += 1
            held = (slot, rgb)
        if held is not None and held[0] >= next_slot:
            yield _to_tensor(held[1], self.device)
        if irregular:
            notice(f"{self.info.path}: irregular frame timing (variable frame rate or dropped frames); resampled "
                   f"to a constant {fps:g} fps ({irregular} irregular intervals)")


def _audio_stream(path: Path):
    """Open ``path`` and return ``(container, audio stream)``, or ``None`` when it has no copyable audio."""
    container = open_container(path)
    if not container.streams.audio:
        container.close()
        return None
    stream = container.streams.audio[0]
    if stream.codec_context.name not in MP4_AUDIO_CODECS:
        notice(f"{path}: audio codec {stream.codec_context.name!r} cannot be copied into the output; audio dropped")
        container.close()
        return None
    return container, stream


class VideoWriter:
    """Encode frames as they arrive; use as a context manager or call :meth:`close`.

    ``path`` suffix picks the format: ``.mp4``/``.mov``/``.mkv`` → H.264 ``yuv420p`` (CRF 18) with audio copied
    from ``audio_from`` (a video path; its audio from ``audio_start`` seconds on, trimmed to the video length);
    ``.gif`` → animated GIF; no suffix → a folder of ``frame_00001.png`` … Frame sizes must be even for H.264
    (use :func:`working_size`). Closing finalises the file, so frames written before an interruption form a
    valid, playable file.
    """

    def __init__(self, path, width: int, height: int, fps: Fraction, audio_from=None, audio_start: float = 0.0):
        self.path = Path(path)
        self.width, self.height, self.fps = int(width), int(height), Fraction(fps)
        self.frames_written = 0
        suffix = self.path.suffix.lower()
        self._container = self._video = None
        self._audio = None
        self._pending_audio = None  # first audio packet past the video written so far
        if suffix == "":
            self.path.mkdir(parents=True, exist_ok=True)
            return
        if suffix in H264_SUFFIXES and (self.width % 2 or self.height % 2):
            raise ValueError(f"H.264 yuv420p needs even frame sizes, got {self.width}x{self.height}")
        if suffix not in H264_SUFFIXES + (".gif",):
            raise InputError(f"{path}: unsupported output format {suffix!r}; use .mp4, .mov, .mkv, .gif or a folder")
        self._container = av.open(os.fspath(self.path), "w")
        if suffix == ".gif":
            self._video = self._container.add_stream("gif", rate=self.fps)
            self._video.pix_fmt = "rgb8"
        else:
            self._video = self._container.add_stream("libx264", rate=self.fps, options={"crf": "18", "preset": "medium"})
            self._video.pix_fmt = "yuv420p"
        self._video.width, self._video.height = self.width, self.height
        if audio_from is not None and suffix != ".gif":
            opened = _audio_stream(Path(audio_from))
            if opened is not None:
                source, in_stream = opened
                out_stream = self._container.add_stream_from_template(in_stream)
                packets = source.demux(in_stream)
                self._audio = (source, in_stream, out_stream, packets, int(audio_start / in_stream.time_base))

    def write(self, frame: torch.Tensor) -> None:
        """Append one ``1,3,H,W`` (or ``3,H,W``) frame in [0,1] of the writer's size."""
        rgb = to_uint8(frame)
        if rgb.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {rgb.shape[1]}x{rgb.shape[0]}, writer expects {self.width}x{self.height}")
        if self._container is None:
            from PIL import Image

            Image.fromarray(rgb).save(self.path / f"frame_{self.frames_written + 1:05d}.png")
        else:
            av_frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            av_frame.pts = self.frames_written
            av_frame.time_base = 1 / self.fps
            self._container.mux(self._video.encode(av_frame))
            self._copy_audio_until((self.frames_written + 1) / self.fps)
        self.frames_written += 1

    def _copy_audio_until(self, until_s: Fraction) -> None:
        if self._audio is None:
            return
        source, in_stream, out_stream, packets, offset = self._audio
        limit = int(until_s / in_stream.time_base) + offset
        pending = self._pending_audio
        while True:
            packet = pending if pending is not None else next(packets, None)
            pending = None
            if packet is None:
                break
            if packet.dts is None:  # flush packet at the end of the stream
                continue
            if packet.pts is not None and packet.pts >= limit:
                pending = packet
                break
            if packet.pts is not None and packet.pts + (packet.duration or 0) <= offset:
                continue
            packet.pts -= offset
            packet.dts -= offset
            packet.stream = out_stream
            self._container.mux(packet)
        self._pending_audio = pending

    def close(self) -> None:
        """Flush the encoder and finalise the file (idempotent)."""
        if self._container is not None:
            self._container.mux(self._video.encode(None))
            self._copy_audio_until(self.frames_written / self.fps)
            self._container.close()
            self._container = None
        if self._audio is not None:
            self._audio[0].close()
            self._audio = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclasses.dataclass
class _Staged:
    tmp: Path
    target: Path


def staged_output(target: Path) -> _Staged:
    """A temporary path beside ``target`` (same suffix; a folder for folder outputs) to write into first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == "":
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}_part_", dir=target.parent))  # no dot: stays a folder name
    else:
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    return _Staged(tmp, target)


def publish(staged: _Staged) -> None:
    """Move a finished staged output onto its target (replacing a previous file or folder)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staged.tmp, (0o777 if staged.tmp.is_dir() else 0o666) & ~umask)  # temp files are created 0600
    if staged.target.is_dir():
        shutil.rmtree(staged.target)
    os.replace(staged.tmp, staged.target)


def discard(staged: _Staged) -> None:
    """Remove a staged output that must not be published."""
    if staged.tmp.is_dir():
        shutil.rmtree(staged.tmp, ignore_errors=True)
    else:
        staged.tmp.unlink(missing_ok=True)
