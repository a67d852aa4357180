"""``stylize generate``: images from prompts in the style of a reference image (StyleAligned-like shared attention)
or of a learned style token (``--style-token``; ``stylize learn-style`` in :mod:`core.priors.token_cli` learns one).

Also holds option helpers the ``stylize image --method styleid`` wiring can reuse (:func:`parse_layers`).
"""

import time
from pathlib import Path
from typing import List, Optional

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, run_job
from core.commands import COMMANDS
from core.errors import InputError
from core.io.images import check_image_output, load_image, save_image
from core.priors.loading import load_model_option
from core.priors.options import add_model_config_option
from core.priors.shared_attention import generate_with_style_reference
from core.priors.token_cli import add_token_options, run_token_generate



def parse_layers(text: Optional[str]) -> Optional[List[int]]:
    """``"4,5,-1"`` → ``[4, 5, -1]`` (indices into a model's self-attention layers); None or "" → None (default)."""
    if not text:
        return None
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise InputError(f"--layers {text!r} must be comma-separated integers, e.g. 4,5,6 or -2,-1") from None


def output_paths(output: Path, count: int) -> List[Path]:
    """``out.png`` for one image; ``out_1.png … out_N.png`` for several."""
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}_{i}{output.suffix}") for i in range(1, count + 1)]


def register(subparsers) -> None:
    p = add_command(subparsers, "generate", COMMANDS["generate"].help,
                    description="Generate one image per --prompt with a local Stable Diffusion model; every image "
                                "shares self-attention with the DDIM inversion of --style-ref (StyleAligned-like).\n\n"
                                "example: stylize generate --style-ref wave.jpg --prompt 'a fox' --prompt 'a castle' "
                                "--model models/sd15 -o out/fox.png")
    p.add_argument("--style-ref", default=None, metavar="IMAGE",
                   help="style reference image (or give --style-token)")
    p.add_argument("--prompt", required=True, action="append", metavar="TEXT",
                   help="what to generate; repeat for several images")
    p.add_argument("--model", required=True, metavar="PATH",
                   help="local Stable Diffusion 1.5/2.1-base folder in diffusers layout, or a single-file "
                        "checkpoint with --model-config (never downloaded)")
    add_model_config_option(p)
    p.add_argument("-o", "--output", required=True,
                   help="output image; with several prompts NAME_1.png, NAME_2.png, … beside it")
    p.add_argument("--ref-prompt", default="", metavar="TEXT",
                   help="a description of the style image (used for its inversion and as its prompt)")
    p.add_argument("--size", type=int, default=512,
                   help="long side of the style image in pixels, rounded down to the model's multiple (64 for SD)")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps (inversion and generation)")
    p.add_argument("--guidance", type=float, default=7.5, help="classifier-free guidance scale")
    p.add_argument("--share-scale", type=float, default=2.0,
                   help="weight of the reference's keys in shared attention (logits shifted by log of it)")
    p.add_argument("--layers", default=None, metavar="I,J,…",
                   help="indices of the self-attention layers that share (default: all; negative counts from the end)")
    p.add_argument("--inversion-refinements", type=int, default=0, metavar="N",
                   help="fixed-point passes per DDIM inversion step: a closer inversion of the style image for "
                        "N more UNet evaluations per step")
    add_token_options(p, image=False)
    add_common_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    output = Path(args.output)
    check_image_output(output)
    outputs = output_paths(output, len(args.prompt))
    for path in outputs:
        refuse_overwriting_inputs(path, [args.style_ref, args.style_token])
    if args.steps < 1 or args.size < 16 or args.inversion_refinements < 0:
        raise InputError("--steps must be at least 1, --size at least 16 and --inversion-refinements at least 0")
    if args.style_token:
        return run_job(args, "generate", lambda job: run_token_generate(job, outputs))
    if not args.style_ref:
        raise InputError("give --style-ref IMAGE (shared attention) or --style-token FILE (stylize learn-style)")
    layers = parse_layers(args.layers)
    return run_job(args, "generate", lambda job: _generate(job, layers, outputs))


def _generate(job, layers, outputs) -> int:
    args, report, device = job.args, job.report, job.device
    with report.phase("load"):
        style = load_image(args.style_ref, long_side=args.size, device=device)
        model = load_model_option(args, device)
    report.inputs = [args.style_ref, args.model]
    with report.phase("generate"):
        start = time.perf_counter()
        images = generate_with_style_reference(style, args.prompt, model, reference_prompt=args.ref_prompt,
                                               steps=args.steps, guidance_scale=args.guidance,
                                               share_scale=args.share_scale, layers=layers, seed=args.seed,
                                               inversion_refinements=args.inversion_refinements, device=device,
                                               progress=job.progress)
        report.set_steps(args.steps, time.perf_counter() - start)
    with report.phase("write"):
        for image, path in zip(images, outputs):
            save_image(image, path)
    report.outputs = [str(path) for path in outputs]
    report.sizes = {"output": {"width": images.shape[-1], "height": images.shape[-2]}, "images": len(outputs)}
    report.metrics = {"method": "shared-attention", "model_dtype": str(model.dtype)}
    return 0
