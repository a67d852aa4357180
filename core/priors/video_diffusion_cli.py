"""``stylize video IN STYLE --method diffusion --model SD`` and ``stylize video IN --instruct TEXT --method diffusion
--model IP2P``: the video diffusion prior (:mod:`core.priors.video_diffusion`) as the frame source of the video
command's frame loop, so the flow-based consistency module (``--consistency``), checkpoints, ``--resume`` and the
report work as for every other method.

Importing this module imports neither torch nor diffusers (``stylize video --help`` builds its options);
:func:`make_diffusion_stylizer` imports the pipeline.
"""

import resource
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, Sequence

from core.errors import InputError

if TYPE_CHECKING:
    import torch

DIFFUSION_METHOD = "diffusion"
STYLE_DEFAULT_STEPS = 50
DIFFUSION_DEFAULT_KEYFRAME_EVERY = 4


def add_video_diffusion_options(parser) -> None:
    """The options of ``--method diffusion`` (``--model``, ``--keyframe-every`` and the InstructPix2Pix scales come
    from :func:`core.priors.instruct_cli.add_instruct_options`)."""
    group = parser.add_argument_group(
        "diffusion (--method diffusion: keyframes edited jointly with extended self-attention, frames between "
        "them following the original's correspondences; needs --model and the [diffusion] extra)")
    group.add_argument("--ddim-steps", type=int, default=None, metavar="N",
                       help=f"DDIM steps (inversion and editing; default {STYLE_DEFAULT_STEPS} with a style image, "
                            "--instruct-steps with --instruct)")
    group.add_argument("--keyframe-batch", type=int, default=4, metavar="N",
                       help="keyframes edited together in one UNet call (plus the shared first frame)")
    group.add_argument("--scene-cut", type=float, default=None, metavar="T",
                       help="shot-change threshold of core.video.segments.scene_cuts (mean change of a 32 px luma "
                            "thumbnail; default its own); a cut frame is a keyframe and nothing propagates across "
                            "it; 0: no cut detection")
    group.add_argument("--frame-batch", type=int, default=4, metavar="N",
                       help="frames per UNet call for inversion and the frames between keyframes")
    group.add_argument("--attention-chunk", type=int, default=1024, metavar="N",
                       help="query tokens per attention chunk (smaller: less memory)")
    group.add_argument("--gamma", type=float, default=0.75, help="style image: query blend γ of the injection")
    group.add_argument("--temperature", type=float, default=1.5, help="style image: injection attention temperature")
    group.add_argument("--no-anchor", action="store_true",
                       help="do not share the first frame with every keyframe batch")


def diffusion_settings(args):
    """The :class:`core.priors.video_diffusion.VideoDiffusionSettings` of ``args``."""
    from core.priors.extended_attention import Injection
    from core.priors.video_diffusion import VideoDiffusionSettings

    steps = args.ddim_steps or (args.instruct_steps if args.instruct else STYLE_DEFAULT_STEPS)
    settings = VideoDiffusionSettings(
        steps=steps, keyframe_every=args.keyframe_every or DIFFUSION_DEFAULT_KEYFRAME_EVERY,
        keyframe_batch=args.keyframe_batch, frame_batch=args.frame_batch,
        injection=Injection(args.gamma, args.temperature), anchor=not args.no_anchor,
        query_chunk=args.attention_chunk)
    settings.validate()
    if args.scene_cut is not None and args.scene_cut < 0:
        raise InputError(f"--scene-cut {args.scene_cut} must be non-negative (0: no cut detection)")
    return settings


def find_cuts(frames: Iterable, threshold: "float | None") -> list:
    """Indices of the frames of ``frames`` that start a new shot (:func:`core.video.segments.scene_cuts`;
    ``threshold`` None: its default, 0: none)."""
    from core.video.segments import CUT_THRESHOLD, scene_cuts

    if threshold == 0:
        return []
    return scene_cuts(frames, CUT_THRESHOLD if threshold is None else threshold)[1]


def diffusion_meta(args) -> "list | None":
    """What identifies a ``--method diffusion`` run in the checkpoint's meta (None for other methods)."""
    if args.method != DIFFUSION_METHOD:
        return None
    return [args.ddim_steps, args.keyframe_batch, args.scene_cut, args.frame_batch, args.attention_chunk, args.gamma,
            args.temperature, args.no_anchor, args.model]


class DiffusionFrameStylizer:
    """A :class:`core.video.consistency.FrameStylizer` serving the video diffusion prior's frames in order.

    ``edited``: the edited frames (``1,3,H,W``) of the video, in order, from :meth:`VideoDiffusion.frames`
    (``start(skip)`` builds it, skipping a resumed run's checkpointed frames). The consistency module's ``terms``
    refine a served frame in pixel space like the feed-forward stylizers
    (:func:`core.video.stylizers.refine_pixels`).
    """

    def __init__(self, edited: "Callable[[int], Iterator[Optional[torch.Tensor]]]", refine_steps: int):
        self.edited, self.refine_steps = edited, refine_steps
        self.skip = 0
        self.stream: "Optional[Iterator[Optional[torch.Tensor]]]" = None

    def start(self, skip: int) -> None:
        """Serve the frames after the first ``skip`` (taken from a checkpoint); the stream opens at the first call."""
        self.skip = skip

    def __call__(self, content: "torch.Tensor", init: "Optional[torch.Tensor]" = None, terms: Sequence = (),
                 steps: Optional[int] = None) -> "torch.Tensor":
        from core.video.stylizers import refine_pixels

        if self.stream is None:
            self.stream = self.edited(self.skip)
            for _ in range(self.skip):
                next(self.stream)
        frame = next(self.stream)
        if not terms:
            return frame
        return refine_pixels(frame, init, terms, steps or self.refine_steps)


def make_diffusion_stylizer(args, style: "Optional[torch.Tensor]", device, frames: Callable[[], Iterable]):
    """``(stylizer, pipeline)`` for ``--method diffusion``: a :class:`DiffusionFrameStylizer` over ``frames()`` (a
    fresh iterable of the input's frames) and the :class:`core.priors.video_diffusion.VideoDiffusion` behind it."""
    from core.priors.instruct_cli import load_instruct_model
    from core.priors.loading import load_model_option
    from core.priors.model import resize_to
    from core.priors.video_diffusion import VideoDiffusion
    from core.priors.video_edits import InstructEdit, StyleEdit

    if style is not None and args.instruct:
        raise InputError("--method diffusion takes a STYLE_IMAGE or --instruct TEXT, not both")
    if args.model is None:
        raise InputError("--method diffusion needs --model PATH (a local Stable Diffusion folder in diffusers layout, "
                         "or an InstructPix2Pix folder with --instruct)")
    settings = diffusion_settings(args)
    if args.instruct:
        model = load_instruct_model(args, device)
        edit = InstructEdit(model, args.instruct, args.guidance, args.image_guidance)
    else:
        model = load_model_option(args, device, in_channels=4)
        first = next(iter(frames()))
        size = model.working_size(*first.shape[-2:])
        edit = StyleEdit(model, resize_to(style, size), settings.steps)
    pipeline = VideoDiffusion(edit, settings, progress=not args.quiet)

    def edited(skip: int):  # runs at the first frame, inside the frame loop (Ctrl-C safe): a pre-pass for the cuts
        return pipeline.frames(frames(), skip, find_cuts(frames(), args.scene_cut))

    return DiffusionFrameStylizer(edited, args.steps), pipeline


def peak_memory(device) -> dict:
    """Peak memory of this run: CUDA's peak allocated bytes on a GPU, else the process's peak resident set."""
    import torch

    if torch.device(device).type == "cuda":
        return {"peak_memory_mb": torch.cuda.max_memory_allocated(device) / 2 ** 20, "memory": "cuda max allocated"}
    return {"peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "memory": "process max RSS"}


def diffusion_metrics(pipeline, device) -> dict:
    """The ``--report`` metrics of a ``--method diffusion`` run: keyframes, chunks, UNet rows and peak memory."""
    from core.priors.video_diffusion import unet_rows_per_frame

    stats = pipeline.stats
    return {"method": DIFFUSION_METHOD, "keyframes": stats.keyframes, "chunks": stats.chunks,
            "unet_rows": stats.unet_rows,
            "unet_rows_per_frame_estimate": unet_rows_per_frame(pipeline.settings, pipeline.edit.groups,
                                                                pipeline.edit.extra),
            **peak_memory(device)}
