"""A training-free video diffusion consistency prior: keyframes edited jointly, the frames between them following
along the original video's correspondences (TokenFlow, Geyer et al., ICLR 2024), streamed chunk by chunk.

For each chunk of :mod:`core.priors.keyframes` (``keyframe_batch`` keyframes and the frames between them):

1. every frame is encoded and DDIM-inverted (``steps`` steps) by the edit (:mod:`core.priors.video_edits`);
2. at each sampling timestep, one UNet call edits the keyframes jointly (rows ``[anchor, keyframes…]``) with
   extended self-attention (:mod:`core.priors.extended_attention`) and records their source features and edited
   attention outputs; then the frames between, ``frame_batch`` at a time, take their attention outputs from the
   keyframes' along nearest-neighbour correspondences of the source features (:mod:`core.priors.propagation`);
   all latents then take one DDIM step;
3. the written frames are decoded.

The **anchor** is the video's first frame: it is a row of every keyframe batch and attends only to itself, so all
batches share it and agree. Held at once: one chunk's frames, their inversion trajectories (``steps`` latents
each) and one timestep of keyframe features and outputs; nothing grows with the video's length.

UNet rows per frame: inversion ``steps``; sampling ``steps × (1 + groups)`` (source row plus edit rows), plus per
chunk the anchor's and the overlapping keyframe's and, for a style, one style row per keyframe call; see
:func:`unet_rows_per_frame`.
"""

import dataclasses
from typing import Collection, Iterable, Iterator, List, Optional, Tuple

import torch
from tqdm.auto import tqdm

from core.errors import InputError
from core.priors.attention import LayerSpec, installed_processors, select_layers, self_attention_layers
from core.priors.ddim import alpha_bar, ddim_move, ddim_timesteps
from core.priors.extended_attention import DEFAULT_QUERY_CHUNK, Injection, KeyframeAttention, KeyframeStore, \
    RowLayout
from core.priors.keyframes import Chunk, KeyframeSelector, keyframe_chunks
from core.priors.model import resize_to
from core.priors.propagation import PropagationAttention
from core.priors.style_injection import STYLEID_LAYER_COUNT
from core.priors.video_edits import VideoEdit


@dataclasses.dataclass
class VideoDiffusionSettings:
    """How :func:`edit_video` schedules keyframes and model calls (see the module docstring).

    ``injection``: StyleID's query blend and temperature in the last ``injection_layers`` decoder self-attention
    layers (used by :class:`core.priors.video_edits.StyleEdit` only); ``layers``: the self-attention layers with
    extended attention and propagation (default all); ``anchor``: share the first frame with every batch;
    ``query_chunk``: query tokens per attention chunk.
    """

    steps: int = 50
    keyframe_every: int = 4
    keyframe_batch: int = 4
    frame_batch: int = 4
    layers: LayerSpec = None
    injection: Injection = dataclasses.field(default_factory=Injection)
    injection_layers: int = STYLEID_LAYER_COUNT
    anchor: bool = True
    query_chunk: int = DEFAULT_QUERY_CHUNK

    def validate(self) -> None:
        if min(self.steps, self.keyframe_every, self.keyframe_batch, self.frame_batch, self.query_chunk) < 1:
            raise InputError("--ddim-steps, --keyframe-every, --keyframe-batch, --frame-batch and --attention-chunk "
                             "must be at least 1")


def unet_rows_per_frame(settings: VideoDiffusionSettings, groups: int, extra: int = 0) -> float:
    """UNet rows (one image through the UNet once) per output frame of a long video, counted from the schedule:
    each frame's inversion (``steps``) and per step a source row and ``groups`` edit rows; per keyframe batch also
    the anchor's sampling (its inversion is kept), the overlapping keyframe edited again and ``extra`` rows per
    keyframe call (a style image's). Multiply by the time of one UNet row for seconds per frame."""
    steps, frames = settings.steps, settings.keyframe_every * settings.keyframe_batch
    per_batch = frames * steps * (2 + groups) + steps * extra
    if settings.anchor:
        per_batch += steps * (1 + groups)
    if settings.keyframe_every > 1:
        per_batch += steps * (2 + groups)
    return per_batch / frames


@dataclasses.dataclass
class VideoDiffusionStats:
    """What :func:`edit_video` did: keyframes edited, chunks, UNet rows evaluated."""

    keyframes: int = 0
    chunks: int = 0
    unet_rows: int = 0


@dataclasses.dataclass
class Prepared:
    """Frames ready to edit: clean latents ``N,4,h,w``, the edit's conditioning (or None) and the inversion
    trajectory (``steps`` tensors ``N,4,h,w``, sampling order)."""

    latents: torch.Tensor
    condition: Optional[torch.Tensor]
    trajectory: List[torch.Tensor]

    def rows(self, index: List[int]) -> "Prepared":
        return Prepared(self.latents[index], None if self.condition is None else self.condition[index],
                        [x[index] for x in self.trajectory])

    @staticmethod
    def cat(parts: List["Prepared"]) -> "Prepared":
        condition = None if parts[0].condition is None else torch.cat([p.condition for p in parts])
        return Prepared(torch.cat([p.latents for p in parts]), condition,
                        [torch.cat(xs) for xs in zip(*(p.trajectory for p in parts))])


class VideoDiffusion:
    """Edits chunks of frames with ``edit`` under ``settings``; call :meth:`frames` to stream a whole video.
    ``progress``: a progress bar over each chunk's sampling steps."""

    def __init__(self, edit: VideoEdit, settings: VideoDiffusionSettings, progress: bool = False):
        settings.validate()
        self.edit, self.settings, self.model, self.progress = edit, settings, edit.model, progress
        unet = self.model.unet
        self.layers = select_layers(self_attention_layers(unet, "all"), settings.layers)
        injecting = set(select_layers(self_attention_layers(unet, "decoder"), None, settings.injection_layers)
                        if edit.extra else [])
        self.store = KeyframeStore()
        self.keyframe_processors = {
            name: KeyframeAttention(name, RowLayout(1), self.store,
                                    settings.injection if name in injecting else None, settings.query_chunk)
            for name in self.layers}
        self.propagation_processors = {name: PropagationAttention(name, self.store, settings.query_chunk)
                                       for name in self.layers}
        self.anchor: Optional[Prepared] = None
        self.stats = VideoDiffusionStats()

    def prepare(self, images: torch.Tensor) -> Prepared:
        """Encode, condition and invert ``images`` ``N,3,h,w`` (working size), ``frame_batch`` at a time."""
        parts = []
        for i in range(0, images.shape[0], self.settings.frame_batch):
            batch = images[i:i + self.settings.frame_batch].to(self.model.device)
            with torch.no_grad():
                latents = self.model.encode_images(batch)
                condition = self.edit.condition(batch)
            parts.append(Prepared(latents, condition, self.edit.invert(latents, condition, self.settings.steps)))
            self.stats.unet_rows += batch.shape[0] * self.settings.steps
        return Prepared.cat(parts)

    def _noise(self, processors: dict, step: int, t: int, frames: Prepared, rows: List[int], x: torch.Tensor,
               extra: bool, layout: RowLayout) -> torch.Tensor:
        """The edit's noise estimates for ``x`` (the edited latents of ``frames``' ``rows``) at sampling ``step``,
        with ``processors`` installed for ``layout``."""
        for processor in processors.values():
            processor.layout = layout
        condition = None if frames.condition is None else frames.condition[rows]
        with installed_processors(self.model.unet, processors):
            eps = self.edit.noise(step, t, frames.trajectory[step][rows], x, condition, extra)
        self.stats.unet_rows += layout.rows
        return eps

    @torch.no_grad()
    def edit_chunk(self, chunk: Chunk, size: Tuple[int, int]) -> torch.Tensor:
        """The edited written frames of ``chunk`` as ``written,3,h,w`` in [0,1] at the working ``size``."""
        images = resize_to(torch.cat([f.frame for f in chunk.frames]), size)
        keys = chunk.keyframes
        if chunk.written < len(chunk.frames) and chunk.frames[-2].keyframe:
            keys = keys[:-1]  # nothing lies between the last written keyframe and the next chunk's first one
        between = [i for i in chunk.between if i < chunk.written]
        frames = self.prepare(images[keys + between])
        key_frames = frames.rows(list(range(len(keys))))
        use_anchor = self.settings.anchor and chunk.frames[0].index != 0
        if self.settings.anchor and chunk.frames[0].index == 0:
            self.anchor = key_frames.rows([0])
        if use_anchor:
            key_frames = Prepared.cat([self.anchor, key_frames])
        between_frames = frames.rows(list(range(len(keys), len(keys) + len(between))))
        offset = 1 if use_anchor else 0
        neighbours = [chunk.neighbours(p) for p in between]
        neighbours = [dataclasses.replace(n, previous=n.previous + offset, next=n.next + offset) for n in neighbours]
        x_keys = self.edit.start(key_frames.trajectory[0])
        x_between = self.edit.start(between_frames.trajectory[0]) if between else between_frames.trajectory[0]
        groups, batch = self.edit.groups, self.settings.frame_batch
        timesteps = ddim_timesteps(self.model, self.settings.steps)
        all_keys = list(range(x_keys.shape[0]))
        steps = tqdm(list(zip(timesteps, timesteps[1:] + [-1])), desc=f"chunk from frame {chunk.frames[0].index}",
                     disable=not self.progress, leave=False)
        for step, (t, lower) in enumerate(steps):
            a_from, a_to = alpha_bar(self.model, t), alpha_bar(self.model, lower)
            key_layout = RowLayout(len(all_keys), groups, self.edit.extra)
            eps_keys = self._noise(self.keyframe_processors, step, t, key_frames, all_keys, x_keys, True, key_layout)
            moved = []
            for i in range(0, len(between), batch):
                part = list(range(i, min(i + batch, len(between))))
                for processor in self.propagation_processors.values():
                    processor.neighbours = [neighbours[j] for j in part]
                eps = self._noise(self.propagation_processors, step, t, between_frames, part, x_between[part],
                                  False, RowLayout(len(part), groups))
                moved.append(ddim_move(x_between[part], eps, a_from, a_to))
            self.store.clear()
            x_keys = ddim_move(x_keys, eps_keys, a_from, a_to)
            if moved:
                x_between = torch.cat(moved)
        self.stats.keyframes += len(keys)
        self.stats.chunks += 1
        latents = torch.cat([x_keys[offset:], x_between])
        order = sorted(range(len(keys) + len(between)), key=lambda r: (keys + between)[r])
        written = [r for r in order if (keys + between)[r] < chunk.written]
        return torch.cat([self.model.decode_latents(latents[r:r + 1]) for r in written])

    def frames(self, frames: Iterable[torch.Tensor], skip: int = 0, cuts: Collection[int] = ()
               ) -> Iterator[Optional[torch.Tensor]]:
        """Stream ``frames`` (``1,3,H,W`` in [0,1], one size) into edited frames ``1,3,H,W``, in order; ``cuts``:
        indices of frames that start a new scene (keyframes; propagation does not cross them). The first ``skip``
        frames are yielded as None, and chunks holding only such frames are not edited (resume)."""
        selector = KeyframeSelector(self.settings.keyframe_every, cuts)
        for chunk in keyframe_chunks(frames, selector, self.settings.keyframe_batch):
            height, width = chunk.frames[0].frame.shape[-2:]
            size = self.model.working_size(height, width)
            if chunk.frames[chunk.written - 1].index < skip:
                if self.settings.anchor and chunk.frames[0].index == 0:
                    self.anchor = self.prepare(resize_to(chunk.frames[0].frame, size))
                yield from (None for _ in range(chunk.written))
                continue
            edited = self.edit_chunk(chunk, size)
            for f, image in zip(chunk.frames[:chunk.written], edited):
                yield None if f.index < skip else resize_to(image[None], (height, width)).to(f.frame.device)
