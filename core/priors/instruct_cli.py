"""``--instruct`` on the command line: ``stylize image PHOTO --instruct TEXT --model IP2P`` and the frame stylizer
of ``stylize video INPUT --instruct TEXT --model IP2P`` (InstructPix2Pix; see :mod:`core.priors.instruct`)."""

import time

from core.errors import InputError
from core.io.images import load_image, save_image
from core.priors.loading import load_model_option
from core.priors.options import INSTRUCT_DEFAULT_STEPS, add_instruct_options  # noqa: F401

def load_instruct_model(args, device):
    if args.model is None:
        raise InputError("--instruct needs --model PATH (a local InstructPix2Pix folder in diffusers layout)")
    if args.instruct_steps < 1 or args.image_guidance < 0:
        raise InputError("--instruct-steps must be at least 1 and --image-guidance non-negative")
    return load_model_option(args, device, in_channels=8)


def edit_options(args) -> dict:
    return dict(steps=args.instruct_steps, guidance_scale=args.guidance, image_guidance_scale=args.image_guidance,
                seed=args.seed)


def run_instruct_image(job, output) -> int:
    """``stylize image PHOTO --instruct TEXT --model IP2P -o OUT`` inside :func:`core.cli.run_job`."""
    from core.priors.instruct import instruct_edit

    args, device, report = job.args, job.device, job.report
    if args.styles:
        raise InputError("--instruct edits by text; give no style image")
    with report.phase("load"):
        photo = load_image(args.content, long_side=args.size, device=device)
        model = load_instruct_model(args, device)
    report.inputs = [args.content, args.model]
    start = time.perf_counter()
    with report.phase("edit"):
        image = instruct_edit(model, photo, args.instruct, progress=job.progress, **edit_options(args))
    report.set_steps(args.instruct_steps, time.perf_counter() - start)
    with report.phase("write"):
        save_image(image, output)
    report.outputs = [str(output)]
    report.sizes = {"output": {"width": image.shape[-1], "height": image.shape[-2]}}
    report.metrics = {"method": "instruct-pix2pix", "instruction": args.instruct}
    return 0


def make_instruct_stylizer(args, device):
    """The video frame stylizer for ``stylize video --instruct`` (refinement steps: ``--steps``)."""
    from core.priors.instruct import InstructFrameStylizer

    return InstructFrameStylizer(load_instruct_model(args, device), args.instruct,
                                 keyframe_every=args.keyframe_every or 1, refine_steps=args.steps, **edit_options(args))
