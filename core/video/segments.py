"""A long video in parallel parts: where to cut it, and how to join the stylized parts without a visible seam.

:func:`plan_segments` splits ``total`` frames into ``parts`` segments: evenly, with each boundary moved onto
a scene cut (:func:`scene_cuts`) when one lies within a quarter of a segment of it. A segment after an even
boundary starts ``overlap`` frames early, so those frames are stylized by both neighbours; a segment after a
scene cut starts at the cut (the picture changes there anyway).

:func:`join_frames` streams the joined video. Inside a segment its frames pass unchanged. A segment that
starts ``K`` frames early (an even split) takes over from the earlier one over ``T >= K`` frames (``seam``):
at its ``j``-th frame (``j = 0..T-1``) the share of the earlier segment's look is ``ρ_j = 1 - (j+1)/(T+1)``,
falling in equal steps, so the change of texture between two segments is spread evenly over the seam.

- over the overlap (``j < K``) both stylizations of the frame exist: ``y_j = B_j + ρ_j·(A_j - B_j)``;
- after it (``K <= j < T``) the earlier look survives only in the previous joined frame, carried along the
  optical flow of the originals (:mod:`core.video.flow`, :mod:`core.video.warp`) where the warp is trusted
  (forward-backward check, :mod:`core.video.masks`): ``y_j = B_j + (ρ_j/ρ_{j-1})·c_j·(ω(y_{j-1}) - B_j)``,
  which keeps the remaining share on its straight line down to zero. The warp is nearest-neighbour: the
  frame is warped again for the next one, and bilinear resampling compounds into blur (as in
  :class:`core.video.consistency.TemporalSettings`).
- each hand-over frame gets back part of the local contrast that mixing two textures loses
  (:func:`keep_contrast`).

Stylizing frames twice costs a full stylization each; carrying them along the flow costs two flow fields, so a
long seam is cheap. Two independent optimisation chains (``--consistency optimize``) settle on different
textures and need a long seam; blend-mode chains forget their start and agree after a few frames. All frames
are ``1,3,H,W`` in [0,1].
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F

from core.video.flow import forward_backward_flow
from core.video.masks import consistency_weights
from core.video.warp import backward_warp

CUT_THRESHOLD = 0.1
"""Mean absolute luma change (in [0,1]) between two consecutive 32 px thumbnails above which a scene cut is
assumed (and only when it is also 4x the median change, so fast motion alone is not a cut)."""
THUMBNAIL_SIDE = 32
CONTRAST_WINDOW = 7
"""Box (pixels) over which a hand-over frame's local contrast is compared with the segments' own frames."""
MAX_CONTRAST_GAIN = 1.5


@dataclasses.dataclass(frozen=True)
class Segment:
    """Frames ``first .. first+count-1`` (0 = the first frame of the whole run); the first ``lead`` of them
    overlap the previous segment."""

    index: int
    first: int
    count: int
    lead: int

    @property
    def last(self) -> int:
        return self.first + self.count - 1


def plan_segments(total: int, parts: int, overlap: int, cuts: Sequence[int] = ()) -> list:
    """``parts`` segments over ``total`` frames (see the module docstring); ``cuts``: frames that start a new shot.

    Raises ValueError for ``parts < 1``, ``overlap < 0`` or fewer frames than parts."""
    if parts < 1 or overlap < 0:
        raise ValueError(f"need parts >= 1 and overlap >= 0, got {parts} and {overlap}")
    if total < parts:
        raise ValueError(f"{total} frames cannot make {parts} segments")
    window = total / (4 * parts)
    bounds, at_cut = [0], [True]
    for i in range(1, parts):
        even = round(i * total / parts)
        near = [c for c in cuts if abs(c - even) <= window and bounds[-1] < c < total]
        bound = min(near, key=lambda c: abs(c - even)) if near else even
        if bound > bounds[-1]:
            bounds.append(bound)
            at_cut.append(bool(near))
    segments = []
    for i, (start, cut) in enumerate(zip(bounds, at_cut)):
        end = bounds[i + 1] if i + 1 < len(bounds) else total
        lead = 0 if cut else min(overlap, start - bounds[i - 1])
        segments.append(Segment(i, start - lead, end - start + lead, lead))
    return segments


def _thumbnail(frame: torch.Tensor) -> torch.Tensor:
    luma = (frame * frame.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    return F.adaptive_avg_pool2d(luma, THUMBNAIL_SIDE)


def scene_cuts(frames: Iterable[torch.Tensor], threshold: float = CUT_THRESHOLD) -> tuple:
    """``(frame count, [indices t of frames that start a new shot])`` for ``1,3,H,W`` frames in [0,1], streamed."""
    changes, previous, count = [], None, 0
    for frame in frames:
        thumb = _thumbnail(frame.float())
        if previous is not None:
            changes.append(float((thumb - previous).abs().mean()))
        previous, count = thumb, count + 1
    if not changes:
        return count, []
    median = sorted(changes)[len(changes) // 2]
    return count, [t + 1 for t, c in enumerate(changes) if c > threshold and c > 4 * median]


def local_stats(image: torch.Tensor, window: int = CONTRAST_WINDOW) -> tuple:
    """Per-pixel mean and standard deviation of ``image`` (``1,C,H,W``) over a ``window`` x ``window`` box."""
    pool = lambda x: F.avg_pool2d(x, window, stride=1, padding=window // 2, count_include_pad=False)  # noqa: E731
    mean = pool(image)
    return mean, (pool(image.square()) - mean.square()).clamp(min=0).sqrt()


def keep_contrast(mixed: torch.Tensor, reference_std: torch.Tensor) -> torch.Tensor:
    """``mixed`` with its local contrast raised halfway (the geometric mean of the gains; never lowered; at most
    √:data:`MAX_CONTRAST_GAIN` x) towards ``reference_std``. Mixing two unrelated textures averages their
    strokes away (half-and-half keeps 1/√2 of the contrast); restoring all of it amplified the frame-to-frame
    flicker too (bundled clip, optimize, 4 segments: seam error 1.9x inside vs 1.2x without; halfway: 1.5x at
    0.88 of the segments' contrast instead of 0.74, at a 16-frame seam)."""
    mean, std = local_stats(mixed)
    gain = (reference_std / std.clamp(min=1e-4)).clamp(1.0, MAX_CONTRAST_GAIN).sqrt()
    return (mean + gain * (mixed - mean)).clamp(0, 1)


def carry_along_flow(later: torch.Tensor, share: float, original: torch.Tensor, previous_original: torch.Tensor,
                     previous_joined: torch.Tensor, flow: str = "dis") -> torch.Tensor:
    """``later + share·c·(ω(previous_joined) - later)``: keep ``share`` of the previous joined frame, warped onto
    ``original`` (from ``previous_original``) where the warp is trusted (motion boundaries included, as the
    warping-error metric counts them)."""
    back, forth = forward_backward_flow(original, previous_original, flow)
    trust = consistency_weights(back, forth, boundary_weight=1.0)
    return (later + share * trust * (backward_warp(previous_joined, back, "nearest") - later)).clamp(0, 1)


def handover_length(segments: Sequence[Segment], index: int, seam: int) -> int:
    """Frames over which segment ``index`` takes over: ``seam``, at least its overlap, ending before the next
    segment's overlap; 0 after a scene cut (no overlap)."""
    segment = segments[index]
    if not segment.lead:
        return 0
    following = segments[index + 1].lead if index + 1 < len(segments) else 0
    return min(max(seam, segment.lead), segment.count - following)


def join_frames(segments: Sequence[Segment], parts: Sequence[Iterable[torch.Tensor]],
                originals: Iterable[torch.Tensor], flow: str = "dis", seam: int = 0) -> Iterator[torch.Tensor]:
    """The joined video, frame by frame: ``parts[i]`` yields segment ``i``'s stylized frames, ``originals``
    the source frames (for the flow); ``seam``: frames of each hand-over (at least the segment's overlap, at
    most up to the next segment's overlap). Holds one frame of each active segment and the previous frame only."""
    active: dict = {}
    opened = 0
    previous = None  # (original, joined)
    for t, original in enumerate(originals):
        while opened < len(segments) and segments[opened].first == t:
            active[opened] = iter(parts[opened])
            opened += 1
        owners = sorted(active)
        if not owners:
            return
        frames = {i: next(active[i]) for i in owners}
        later = segments[owners[-1]]
        joined = frames[later.index]
        length = handover_length(segments, later.index, seam)
        j = t - later.first
        if j < length and previous is not None:
            share = 1 - (j + 1) / (length + 1)
            later_std = local_stats(joined)[1]
            if len(owners) > 1:
                earlier = frames[owners[0]]
                mixed = joined + share * (earlier - joined)
                joined = keep_contrast(mixed, later_std + share * (local_stats(earlier)[1] - later_std))
            else:
                mixed = carry_along_flow(joined, share / (share + 1 / (length + 1)), original, previous[0],
                                         previous[1], flow)
                joined = keep_contrast(mixed, later_std)
        for i in owners:
            if segments[i].last == t:
                del active[i]
        previous = (original, joined)
        yield joined
