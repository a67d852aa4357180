"""Keyframe selection and streaming a video into chunks of a fixed number of keyframes.

Keyframes: the first frame, every ``every``-th frame after the previous keyframe, every scene cut and the last
frame. Scene cuts are given as frame indices (found by :func:`core.video.segments.scene_cuts`, the toolkit's one
shot detector, in a pre-pass over the video); a frame's scene is the number of cuts at or before it.

A :class:`Chunk` holds ``batch`` keyframes, the frames between them and, at its end, the first keyframe of the
next chunk (so the frames before it have both neighbours); that last keyframe is edited again and written by the
next chunk (or by this one, when the video ends with it). Only one chunk of frames (and one frame more) is held
at a time, so memory does not grow with the video's length.
"""

import dataclasses
from typing import Collection, Iterable, Iterator, List, Optional

import torch

from core.errors import InputError
from core.priors.propagation import Neighbours


class KeyframeSelector:
    """Stateful: call with the frame indices in order (0, 1, …); returns ``(is_keyframe, scene)`` for each.

    ``every``: at most this many frames from one keyframe to the next; ``cuts``: indices of frames that start a
    new scene.
    """

    def __init__(self, every: int, cuts: Collection[int] = ()):
        if every < 1:
            raise InputError(f"--keyframe-every must be at least 1, got {every}")
        self.every, self.cuts = every, set(cuts)
        self.since_keyframe = 0
        self.scene = 0

    def __call__(self, index: int) -> "tuple[bool, int]":
        is_cut = index in self.cuts
        self.scene += is_cut
        key = index == 0 or is_cut or self.since_keyframe + 1 >= self.every
        self.since_keyframe = 0 if key else self.since_keyframe + 1
        return key, self.scene


@dataclasses.dataclass
class ChunkFrame:
    """One frame of a chunk: its ``index`` in the video, the ``frame`` ``1,3,H,W`` in [0,1], whether it is a
    keyframe and its scene number."""

    index: int
    frame: torch.Tensor
    keyframe: bool
    scene: int


@dataclasses.dataclass
class Chunk:
    """Consecutive frames starting and ending with a keyframe; the first ``written`` frames are this chunk's
    output (the others, the next chunk's first keyframe, only serve as a neighbour)."""

    frames: List[ChunkFrame]
    written: int

    @property
    def keyframes(self) -> List[int]:
        """Positions (in ``frames``) of the keyframes."""
        return [i for i, f in enumerate(self.frames) if f.keyframe]

    @property
    def between(self) -> List[int]:
        """Positions of the frames that are not keyframes."""
        return [i for i, f in enumerate(self.frames) if not f.keyframe]

    def neighbours(self, position: int) -> Neighbours:
        """The keyframes around the frame at ``position`` as ranks among :attr:`keyframes`; a next keyframe in
        another scene gets weight 0 (the frame follows its previous keyframe alone)."""
        keys = self.keyframes
        rank = sum(1 for k in keys if k < position) - 1
        previous, following = keys[rank], keys[rank + 1]
        same_scene = self.frames[following].scene == self.frames[position].scene
        weight = (position - previous) / (following - previous) if same_scene else 0.0
        return Neighbours(rank, rank + 1, weight)


def keyframe_chunks(frames: Iterable[torch.Tensor], selector: KeyframeSelector, batch: int) -> Iterator[Chunk]:
    """Stream ``frames`` (``1,3,H,W``) into :class:`Chunk` s of ``batch`` written keyframes (the last chunk may
    hold fewer); the last frame of the video is made a keyframe."""
    if batch < 1:
        raise InputError(f"--keyframe-batch must be at least 1, got {batch}")
    held: List[ChunkFrame] = []
    full: Optional[Chunk] = None  # a chunk held back until the next frame shows whether the video ends with it
    for index, frame in enumerate(frames):
        key, scene = selector(index)
        current = ChunkFrame(index, frame, key, scene)
        if full is not None:
            yield full
            full = None
        if key and sum(f.keyframe for f in held) == batch:
            full, held = Chunk(held + [current], written=len(held)), []
        held.append(current)
    if full is not None:  # the video ends with its last keyframe: that chunk writes it
        full.written = len(full.frames)
        yield full
    elif held:
        held[-1].keyframe = True
        yield Chunk(held, written=len(held))
