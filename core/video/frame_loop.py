"""The frame loop every video front end runs on: frames encoded as they are made, each finished frame also
checkpointed, Ctrl-C keeping what is done.

The output is staged beside its target (:func:`core.video.io.staged_output`) and published when the loop ends;
a Ctrl-C (:class:`KeyboardInterrupt`) inside the loop ends it early and publishes the frames finished so far
as a playable video. Each finished frame is also saved as a lossless PNG (:data:`CHECKPOINT_FRAME`) in the
checkpoint folder ``.OUT.frames/`` beside the output (:func:`checkpoint_dir`), with ``meta.json`` describing
the run; a resumed run (``resume=True`` with the same meta) takes the finished frames from there. The
checkpoint is removed after a complete run. Front ends (``stylize video``, ``stylize paint VIDEO``) keep their
own state beside the PNGs where they need more than the frames.

    loop = FrameLoop(output, reader, meta, resume, desc="video", progress=True)
    with loop:
        for index, frame in enumerate(frames):
            image = ...                               # 1,3,H,W or 3,H,W in [0,1]
            save_image(image, loop.frame_path(index))
            loop.write(image)
    print(loop.frames_written, loop.interrupted)
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Optional

import torch
from tqdm.auto import tqdm

from core.errors import InputError
from core.video import io as vio

CHECKPOINT_FRAME = "frame_{:05d}.png"
"""File name of finished frame ``n`` (from 1) in the checkpoint folder."""


def checkpoint_dir(output: Path) -> Path:
    """The checkpoint folder of ``output``: ``.NAME.frames`` beside it."""
    return output.with_name(f".{output.name}.frames")


def input_meta(path: "str | Path") -> dict:
    """What identifies an input in a checkpoint's meta: its absolute path and, for a file, its size in bytes."""
    source = Path(path).resolve()
    return {"input": str(source), "input_bytes": source.stat().st_size if source.is_file() else None}


def prepare_checkpoint(folder: Path, meta: dict, resume: bool) -> int:
    """Create or validate the checkpoint folder; returns how many finished frames it holds.

    With ``resume`` and a checkpoint made with the same ``meta`` (JSON-serialisable inputs and settings), the
    frames it holds are kept; another meta is refused (:class:`InputError`). Otherwise the folder starts empty.
    """
    meta_file = folder / "meta.json"
    if resume and meta_file.exists():
        if json.loads(meta_file.read_text()) != meta:
            raise InputError(f"checkpoint {folder} was made with other inputs or settings; delete it or drop --resume")
        done = 0
        while (folder / CHECKPOINT_FRAME.format(done + 1)).exists():
            done += 1
        return done
    if resume:
        vio.notice(f"no checkpoint at {folder}; starting from the first frame")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    meta_file.write_text(json.dumps(meta))
    return 0


def expected_frames(reader: vio.VideoReader) -> "int | None":
    """How many frames ``reader`` will give (from the duration, range and cap; for the progress bar), or None
    where the input does not say."""
    info = reader.info
    if info.duration_s is None:
        return reader.max_frames
    end = info.duration_s if reader.end is None else min(reader.end, info.duration_s)
    count = max(1, round((end - reader.start) * float(reader.fps)))
    return count if reader.max_frames is None else min(count, reader.max_frames)


class FrameLoop:
    """A staged video output at ``reader``'s size and rate, with a per-frame checkpoint; see the module docstring.

    Construction prepares the checkpoint (:func:`prepare_checkpoint`; ``checkpointed`` is how many finished
    frames it holds); entering the ``with`` block opens the staged writer (``audio_from``: a video whose audio is
    copied, from ``audio_start`` seconds) and the progress bar. Leaving it publishes what was written (or
    discards an empty output) and removes the checkpoint unless the loop was interrupted. A
    :class:`KeyboardInterrupt` in the block is swallowed (``interrupted`` is set); any other exception discards
    the output (and an empty checkpoint) and propagates. Afterwards ``frames_written`` and ``seconds`` (wall
    time in the block) tell what was done.
    """

    def __init__(self, output: Path, reader: vio.VideoReader, meta: dict, resume: bool = False, *,
                 desc: str = "video", progress: bool = False, audio_from: Optional[Path] = None,
                 audio_start: float = 0.0):
        self.output, self.reader, self.desc, self.progress = Path(output), reader, desc, progress
        self.audio_from, self.audio_start = audio_from, audio_start
        self.checkpoint = checkpoint_dir(self.output)
        self.checkpointed = prepare_checkpoint(self.checkpoint, meta, resume)
        self.interrupted = False
        self.frames_written = 0
        self.seconds = 0.0

    def frame_path(self, index: int) -> Path:
        """The checkpoint PNG of frame ``index`` (from 0)."""
        return self.checkpoint / CHECKPOINT_FRAME.format(index + 1)

    def __enter__(self) -> "FrameLoop":
        self.staged = vio.staged_output(self.output)
        self.writer = vio.VideoWriter(self.staged.tmp, *self.reader.size, self.reader.fps, audio_from=self.audio_from,
                                      audio_start=self.audio_start)
        self.bar = tqdm(total=expected_frames(self.reader), unit="frame", desc=self.desc, disable=not self.progress,
                        dynamic_ncols=True)
        self.started = time.perf_counter()
        return self

    def write(self, image: torch.Tensor, **postfix) -> None:
        """Encode the next frame (``1,3,H,W`` or ``3,H,W`` in [0,1]) and advance the progress bar (showing
        ``postfix``, when given)."""
        self.writer.write(image)
        if postfix:
            self.bar.set_postfix(**postfix)
        self.bar.update(1)

    def __exit__(self, kind, error, traceback) -> bool:
        self.bar.close()
        self.seconds = time.perf_counter() - self.started
        self.writer.close()
        self.frames_written = self.writer.frames_written
        if kind is not None and not issubclass(kind, KeyboardInterrupt):
            vio.discard(self.staged)
            if not self.frame_path(0).exists():
                shutil.rmtree(self.checkpoint, ignore_errors=True)
            return False
        self.interrupted = kind is not None
        if self.frames_written:
            vio.publish(self.staged)
        else:
            vio.discard(self.staged)
        if not self.interrupted:
            shutil.rmtree(self.checkpoint, ignore_errors=True)
        return self.interrupted
