"""Painting a video with strokes that follow the motion (after Hertzmann and Perlin, "Painterly Rendering for
Video and Interaction", NPAR 2000), so the painting does not boil.

Frame 0 is painted as a still (:func:`vector.strokes.hertzmann.paint`). For each later frame ``t``:

1. optical flow between the original frames ``t-1`` and ``t`` (:mod:`core.video.flow`, both directions) and
   Ruder's trust maps (:mod:`core.video.masks`): ``trust_cur`` on frame ``t`` (is the warped previous painting
   right here?) and ``trust_prev`` on frame ``t-1`` (does this pixel's motion into ``t`` check out?);
2. the previous frame's strokes move along the flow ``t-1 → t`` (every control point by the flow sampled
   under it); a stroke whose control points lie mostly where ``trust_prev`` fails (it is being covered, or
   its motion is unreliable) or that left the frame is dropped;
3. *difference masking*: the image the painting stands for (the blurred source it was last painted from,
   carried along the flow with nearest-neighbour warps so it does not blur) is compared with frame ``t``;
   where their RGB distance exceeds ``change_threshold``, or where ``trust_cur`` fails, the painting may be
   repainted (the mask is dilated by the smallest brush radius);
4. *painting over*: the moved strokes are the underpainting, and Hertzmann's layers add strokes only inside
   that mask, in grid cells where the canvas still differs from the layer's reference by more than the style's
   threshold T (pixels that no kept stroke covers count as unpainted). Where the flow is untrusted the moved
   strokes still count as paint: treating those pixels as blank (so the largest brush covers them) repainted
   about 14 % of every frame of the bundled clip with large new strokes and flickered more than painting
   each frame on its own;
5. strokes no longer visible anywhere (covered by newer ones) are pruned, so the count stays bounded.

A static shot therefore reuses every stroke, and a moving one repaints mostly where things appear.
``independent=True`` paints every frame on its own (the comparison that boils).

Frames are ``1,3,H,W`` float32 in [0, 1] on the CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from core.errors import ConfigError
from core.video.flow import FLOW_METHODS, forward_backward_flow
from core.video.masks import consistency_weights
from core.video.warp import backward_warp, sample_at
from vector.strokes.curves import STROKE_FIELDS, Strokes
from vector.strokes.hertzmann import Painting, Underpainting, gaussian_blur, paint
from vector.strokes.presets import PaintStyle
from vector.strokes.render import visible_fragments


@dataclass
class VideoPaintConfig:
    """How strokes are carried from frame to frame (``stylize paint VIDEO`` flags)."""

    change_threshold: float = field(default=24.0, metadata={
        "help": "repaint where the frame differs from what the painting shows by more than this (RGB distance, "
                "0..255) after motion compensation"})
    min_trust: float = field(default=0.3, metadata={
        "help": "flow trust (forward-backward check) below which the moved painting may be painted over and "
                "strokes (by the mean trust under their points) are dropped"})
    flow: str = field(default="dis", metadata={"help": "optical flow method (OpenCV)", "choices": FLOW_METHODS})
    independent: bool = field(default=False, metadata={
        "help": "paint every frame on its own, without carrying strokes (for comparison; it flickers)"})

    def validate(self) -> "VideoPaintConfig":
        if not 0 <= self.change_threshold <= 442:
            raise ConfigError("change_threshold", f"{self.change_threshold} is out of range; use 0..442")
        if not 0 <= self.min_trust <= 1:
            raise ConfigError("min_trust", f"{self.min_trust} is out of range; use 0..1")
        if self.flow not in FLOW_METHODS:
            raise ConfigError("flow", f"{self.flow!r}: choose from {', '.join(FLOW_METHODS)}")
        return self


@dataclass
class PaintedFrame:
    """One painted frame: ``painting`` (its strokes in painting order, pruned to the visible ones, and canvas);
    ``reused`` strokes carried from the previous frame, ``new`` strokes painted for this one, ``dropped``
    strokes of the previous frame not carried (occluded, off-frame or covered); ``repaint_fraction`` the share
    of pixels where repainting was allowed; ``seconds`` wall time (``flow_s`` of it for the flow)."""

    painting: Painting
    reused: int
    new: int
    dropped: int
    repaint_fraction: float
    seconds: float
    flow_s: float = 0.0

    @property
    def reused_fraction(self) -> float:
        total = self.reused + self.new
        return self.reused / total if total else 1.0


def move_strokes(strokes: Strokes, flow: torch.Tensor, trust: torch.Tensor, height: int, width: int,
                 min_trust: float = 0.5) -> tuple:
    """Move every control point along ``flow`` (``1,2,H,W``, previous → current frame, pixels) and keep the
    strokes worth keeping.

    Points are in pixels with pixel centres at +0.5 (:mod:`vector.strokes.curves`); the flow and ``trust``
    (``1,1,H,W`` in [0, 1] on the previous frame) are sampled bilinearly under each point. A stroke is kept when
    the mean trust over its control points is at least ``min_trust`` and one of its points stays in the frame.
    Returns ``(moved strokes (kept only), kept (S,) bool)``.
    """
    s, p, _ = strokes.points.shape
    if s == 0:
        return strokes, torch.zeros(0, dtype=torch.bool)
    xy = strokes.points.reshape(-1, 2) - 0.5
    moved = (strokes.points.reshape(-1, 2) + sample_at(flow, xy)).reshape(s, p, 2)
    valid = torch.arange(p)[None, :] < strokes.count[:, None]
    point_trust = sample_at(trust, xy)[:, 0].reshape(s, p)
    mean_trust = (point_trust * valid).sum(1) / valid.sum(1)
    inside = ((moved[..., 0] >= 0) & (moved[..., 0] <= width) & (moved[..., 1] >= 0) & (moved[..., 1] <= height)
              & valid).any(1)
    kept = (mean_trust >= min_trust) & inside
    out = Strokes(moved, strokes.count, strokes.radius, strokes.colour, strokes.opacity, strokes.layer)
    return out.select(kept), kept


def visible_mask(strokes: Strokes, height: int, width: int) -> torch.Tensor:
    """(S,) bool: the strokes with at least one visible fragment (not culled under later ones)."""
    if len(strokes) == 0:
        return torch.zeros(0, dtype=torch.bool)
    visible = visible_fragments(strokes, height, width)[0]
    return torch.bincount(visible.stroke, minlength=len(strokes)) > 0


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """(H, W) bool mask grown by a (2 radius + 1)² square."""
    if radius < 1:
        return mask
    grown = F.max_pool2d(mask[None, None].float(), 2 * radius + 1, stride=1, padding=radius)
    return grown[0, 0] > 0


class VideoPainter:
    """Stateful: feed frames in order to :meth:`step`; it keeps one previous frame and its strokes."""

    def __init__(self, style: PaintStyle, config: VideoPaintConfig = VideoPaintConfig(), seed: int = 0,
                 background=(1.0, 1.0, 1.0)):
        self.style = style.validate()
        self.config = config.validate()
        self.seed, self.background = seed, tuple(background)
        self.sigma = style.blur_factor * min(style.brushes)
        self.radius = max(1, round(min(style.brushes)))
        self.previous = None   # (frame 1,3,H,W, strokes, shown 1,3,H,W: the blurred source the painting stands for)
        self.frames_done = 0

    def step(self, frame: torch.Tensor) -> PaintedFrame:
        """Paint the next frame ``1,3,H,W`` in [0, 1]."""
        started = time.perf_counter()
        frame = frame.float()
        _, _, h, w = frame.shape
        reference = gaussian_blur(frame, self.sigma)
        flow_s, repaint_fraction, carried, dropped = 0.0, 1.0, None, 0
        if self.previous is None or self.config.independent:
            painting = paint(frame, self.style, self.seed, self.background)
            shown = reference
        else:
            prev_frame, prev_strokes, shown = self.previous
            t0 = time.perf_counter()
            back, forth = forward_backward_flow(frame, prev_frame, self.config.flow)
            trust_cur = consistency_weights(back, forth)[0, 0]
            trust_prev = consistency_weights(forth, back)
            flow_s = time.perf_counter() - t0
            carried, _ = move_strokes(prev_strokes, forth, trust_prev, h, w, self.config.min_trust)
            stale = trust_cur < self.config.min_trust
            shown = backward_warp(shown, back, "nearest")
            changed = (shown - reference).norm(dim=1)[0] * 255 > self.config.change_threshold
            repaint = dilate(changed | stale, self.radius)
            repaint_fraction = float(repaint.float().mean())
            painting = paint(frame, self.style, self.seed, self.background, Underpainting(carried, repaint))
            shown = torch.where(repaint[None, None], reference, shown)
        keep = visible_mask(painting.strokes, h, w)
        n_carried = 0 if carried is None else len(carried)
        reused = int(keep[:n_carried].sum())
        new = int(keep[n_carried:].sum())
        if self.previous is not None and not self.config.independent:
            dropped = len(self.previous[1]) - reused
        painting.strokes = painting.strokes.select(keep)
        self.previous = (frame, painting.strokes, shown)
        self.frames_done += 1
        return PaintedFrame(painting, reused, new, dropped, repaint_fraction, time.perf_counter() - started, flow_s)

    def state_dict(self) -> dict:
        """What the next :meth:`step` depends on: frames done and the previous frame, its strokes and the image
        they stand for (painting itself is seeded by ``seed`` on every frame, so no RNG state is carried)."""
        state = {"frames_done": self.frames_done, "previous": None}
        if self.previous is not None:
            frame, strokes, shown = self.previous
            state["previous"] = {"frame": frame, "shown": shown,
                                 "strokes": {n: getattr(strokes, n) for n in STROKE_FIELDS}}
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue after the frames recorded in ``state`` (from :meth:`state_dict`)."""
        previous = state["previous"]
        self.previous = None if previous is None else (
            previous["frame"], Strokes(*(previous["strokes"][n] for n in STROKE_FIELDS)), previous["shown"])
        self.frames_done = int(state["frames_done"])
