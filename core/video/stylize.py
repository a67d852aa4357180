"""Stylize a video in one call: :func:`stylize_video`, on the same frame loop as ``stylize video``.

    from core import stylize_video
    result = stylize_video("clip.mp4", "starry_night.jpg", "out.mp4", method="adain", size=256)
    print(result.frames, result.width, result.height)

Every frame goes through a per-frame stylizer (:mod:`core.video.stylizers`) and the temporal consistency
module (:mod:`core.video.consistency`), and is encoded as it is finished (:class:`core.video.frame_loop.FrameLoop`:
staged output, per-frame checkpoint, Ctrl-C keeps the finished frames, ``resume`` continues).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
from fractions import Fraction
from pathlib import Path
from typing import Callable, Union

import torch

from core.atomic import refuse_overwriting_inputs
from core.config import replace_fields
from core.errors import InputError
from core.image.gatys import GatysConfig
from core.io.images import load_image, save_image
from core.stylization import LoopConfig
from core.video import io as vio
from core.video.consistency import FrameStylizer, OpticalFlowLinker, TemporalConsistency, TemporalSettings
from core.video.frame_loop import FrameLoop, input_meta
from core.video.stylizers import METHODS, default_method, make_frame_stylizer

VIDEO_GATYS = GatysConfig(loop=LoopConfig(steps=40, optimizer="lbfgs"))
"""The per-frame Gatys settings of a video (fewer steps per frame than a still image)."""
DEFAULT_LONG_SIDE = 512
"""Without a size, frames keep the source size up to this long side (larger inputs are downscaled)."""
VIDEO_OUTPUTS = vio.H264_SUFFIXES + (".gif", "")
"""Output suffixes: H.264 video, animated GIF, or none (a folder of PNG frames)."""


@dataclasses.dataclass
class VideoResult:
    """What a stylized video run wrote: ``frames`` frames of ``width`` x ``height`` at ``fps`` into ``output``
    (``frames_resumed`` of them taken from a checkpoint); wall ``seconds`` of the frame loop, of which
    ``seconds_stylizing`` in the stylizer and ``seconds_flow`` in optical flow; ``interrupted`` after Ctrl-C."""

    output: Path
    width: int
    height: int
    fps: Fraction
    frames: int
    frames_resumed: int
    seconds: float
    seconds_stylizing: float
    seconds_flow: float
    interrupted: bool

    @property
    def frames_stylized(self) -> int:
        """Frames stylized by this run (not taken from the checkpoint)."""
        return self.frames - self.frames_resumed

    def metrics(self) -> dict:
        """The run's numbers as ``stylize video --report`` lists them."""
        new = self.frames_stylized
        return {"frames_stylized": new, "frames_resumed": self.frames_resumed,
                "seconds_per_frame": self.seconds / new if new else None,
                "seconds_stylizing": self.seconds_stylizing, "seconds_flow": self.seconds_flow,
                "interrupted": self.interrupted}


def check_output(output: "str | os.PathLike", inputs: list) -> Path:
    """``output`` as a Path when it is a video output (:data:`VIDEO_OUTPUTS`) that is none of ``inputs``."""
    output = Path(output)
    refuse_overwriting_inputs(output, inputs)
    if output.suffix.lower() not in VIDEO_OUTPUTS:
        raise InputError(f"output {output} must end in .mp4, .mov, .mkv or .gif, or name a folder (no suffix)")
    return output


def temporal_settings(mode: str, steps: int, first_steps: "int | None" = None, temporal_weight: float = 1e3,
                      blend_strength: float = 0.7, refine_steps: int = 0) -> TemporalSettings:
    """Checked :class:`TemporalSettings` (``first_steps`` default: twice ``steps``); :class:`InputError` otherwise."""
    if steps < 1 or (first_steps is not None and first_steps < 1):
        raise InputError("--steps and --first-steps must be at least 1")
    settings = TemporalSettings(mode=mode, temporal_weight=temporal_weight, blend_strength=blend_strength,
                                refine_steps=refine_steps, steps=steps, first_frame_steps=first_steps or 2 * steps)
    try:
        settings.validate()
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return settings


def stylize_frames(reader: vio.VideoReader, stylizer: FrameStylizer, settings: TemporalSettings, output: Path,
                   meta: dict, *, flow: str = "dis", resume: bool = False, progress: bool = False,
                   started: "Callable[[int], None] | None" = None) -> VideoResult:
    """Stylize every frame of ``reader`` with ``stylizer`` tied by ``settings`` (optical flow ``flow``) into
    ``output`` (audio copied from a video input), on :class:`FrameLoop` with checkpoint ``meta``.

    ``started(n)``, when given, is called once before the first frame with the number ``n`` of frames the
    checkpoint holds (the stylizer is then called for frames ``n, n+1, …`` only)."""
    consistency = TemporalConsistency(stylizer, settings, OpticalFlowLinker(method=flow))
    frames = iter(reader)
    first = next(frames)  # raises InputError for zero frames before anything is written
    audio = None if reader.info.is_sequence else reader.info.path
    loop = FrameLoop(output, reader, meta, resume, desc=f"video ({settings.mode})", progress=progress,
                     audio_from=audio, audio_start=reader.start)
    if started is not None:
        started(loop.checkpointed)
    with loop:
        for index, frame in enumerate(itertools.chain([first], frames)):
            saved = loop.frame_path(index)
            if index < loop.checkpointed:
                stylized = load_image(saved, device=reader.device)
                consistency.remember(frame, stylized)
            else:
                stylized = consistency.step(frame)
                save_image(stylized, saved)
            loop.write(stylized)
    return VideoResult(Path(output), *reader.size, reader.fps, loop.frames_written,
                       min(loop.checkpointed, loop.frames_written), loop.seconds, consistency.seconds_stylizing,
                       consistency.seconds_linking, loop.interrupted)


def _style_meta(style) -> str:
    if isinstance(style, torch.Tensor):
        data = style.detach().cpu().contiguous().numpy().tobytes()
        return f"tensor {list(style.shape)} sha256 {hashlib.sha256(data).hexdigest()}"
    return str(Path(style).resolve())


def stylize_video(video: "str | os.PathLike", style: Union[torch.Tensor, str, os.PathLike],
                  output: "str | os.PathLike", method: "str | None" = None, *, size: "int | None" = None,
                  consistency: str = "optimize", flow: str = "dis", temporal_weight: float = 1e3,
                  blend_strength: float = 0.7, refine_steps: int = 0, first_steps: "int | None" = None,
                  decoder: "str | None" = None, alpha: float = 1.0, start: float = 0.0, end: "float | None" = None,
                  max_frames: "int | None" = None, fps: "Fraction | float" = vio.SEQUENCE_FPS, device="cpu",
                  progress: bool = False, resume: bool = False, **config) -> VideoResult:
    """Stylize ``video`` (a video file, animated GIF or folder of frames) after ``style`` into ``output``
    (``.mp4``/``.mov``/``.mkv`` H.264 with the audio copied, ``.gif``, or a folder of PNG frames).

    ``style``: ``1,3,h,w`` in [0,1], or an image path (read at the frame size). ``method``: ``gatys`` (per-frame
    optimisation; ``config`` are :class:`GatysConfig` fields by plain name, e.g. ``steps=10``, also the steps of
    fast/adain/wct refinement), ``fast`` (the quick image path), ``adain`` or ``wct`` (a decoder pass;
    ``decoder`` weights, ``alpha`` in [0, 1]); default :func:`~core.video.stylizers.default_method` (``fast`` for
    ``blend``, else ``gatys``).
    ``size``: long side of the output (default the source size, at most :data:`DEFAULT_LONG_SIDE`).
    ``consistency``/``temporal_weight``/``blend_strength``/``refine_steps``/``first_steps``/``flow``: how frames are
    tied together (:mod:`core.video.consistency`); ``start``/``end`` (seconds), ``max_frames``, ``fps`` (of a
    frame folder): what is read. Ctrl-C keeps the finished frames (``result.interrupted``); ``resume`` continues
    from the checkpoint beside ``output`` made with the same arguments.
    """
    output = check_output(output, [video] + ([] if isinstance(style, torch.Tensor) else [style]))
    method = method or default_method(consistency)
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    gatys = replace_fields(VIDEO_GATYS, **config)
    gatys.validate()
    settings = temporal_settings(consistency, gatys.loop.steps, first_steps, temporal_weight, blend_strength,
                                 refine_steps)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"alpha {alpha} must be in [0, 1]")
    reader = vio.VideoReader(video, start=start, end=end, max_frames=max_frames, long_side=size,
                             max_long_side=DEFAULT_LONG_SIDE, device=device, sequence_fps=fps)
    image = style.to(device) if isinstance(style, torch.Tensor) else load_image(style, long_side=max(reader.size),
                                                                                    device=device)
    stylizer = make_frame_stylizer(method, [image], {"gatys": gatys, "decoder": decoder, "alpha": alpha})
    meta = {**input_meta(video), "style": _style_meta(style), "method": method, "size": list(reader.size),
            "settings": repr(settings), "gatys": repr(gatys), "decoder": None if decoder is None else str(decoder),
            "alpha": alpha, "flow": flow,
            "start": start, "end": end, "max_frames": max_frames, "fps": float(fps)}
    return stylize_frames(reader, stylizer, settings, output, meta, flow=flow, resume=resume, progress=progress)
