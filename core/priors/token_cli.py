"""Style tokens on the command line: ``stylize learn-style``, ``stylize image --method inst`` and
``stylize generate --style-token`` (InST textual inversion; ProSpect per-stage tokens with ``--per-stage`` /
``--stages``). Kept apart from the commands so they import diffusers only when used.
"""

import time
from pathlib import Path

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, run_job
from core.commands import COMMANDS
from core.errors import InputError
from core.io.images import load_image, save_image
from core.priors.loading import load_model_option
from core.priors.options import TOKEN_METHODS, add_model_config_option, add_token_options  # noqa: F401

TOKEN_DEFAULT_STEPS = 50
LEARN_DEFAULTS = {"steps": 1000, "lr": 5e-3, "batch": 1}


def register_learn_style(subparsers) -> None:
    """``stylize learn-style PAINTING -o style.safetensors --model SD``."""
    p = add_command(subparsers, "learn-style", COMMANDS["learn-style"].help,
                    description="Learn a new text token whose embedding makes a local Stable Diffusion model "
                                "denoise PAINTING well (textual inversion, as InST does from one painting; "
                                "--per-stage N learns ProSpect's one token per denoising stage). The file is in "
                                "diffusers' textual-inversion format.\n\n"
                                "example: stylize learn-style monet.jpg -o monet.safetensors --model models/sd15\n"
                                "then:    stylize image photo.jpg --method inst --style-token monet.safetensors "
                                "--model models/sd15 -o out.png")
    p.add_argument("painting", metavar="PAINTING", help="the one style image")
    p.add_argument("-o", "--output", required=True, metavar="TOKEN.safetensors", help="learned token file")
    p.add_argument("--model", required=True, metavar="PATH",
                   help="local Stable Diffusion 1.5/2.1-base folder, or a single-file checkpoint with "
                        "--model-config (never downloaded)")
    add_model_config_option(p)
    p.add_argument("--per-stage", type=int, default=1, metavar="N",
                   help="1: one token (InST); N > 1: one token per denoising stage, N stages over the training "
                        "timesteps (ProSpect uses 10)")
    p.add_argument("--steps", type=int, default=LEARN_DEFAULTS["steps"], help="optimisation steps")
    p.add_argument("--lr", type=float, default=LEARN_DEFAULTS["lr"], help="Adam learning rate of the embedding")
    p.add_argument("--batch", type=int, default=LEARN_DEFAULTS["batch"], help="noise draws per step")
    p.add_argument("--token", default="<style>", help="the new token's text, used in prompts")
    p.add_argument("--init-word", default="painting", help="the embedding starts at this word's embedding")
    p.add_argument("--size", type=int, default=512, help="long side of the painting in pixels")
    add_common_options(p, resumable=True)
    p.set_defaults(func=run_learn_style)


def run_learn_style(args) -> int:
    from core.priors.inversion import LearnConfig

    output = Path(args.output)
    if output.suffix != ".safetensors":
        raise InputError(f"output {output} must end in .safetensors (diffusers' textual-inversion format)")
    refuse_overwriting_inputs(output, [args.painting])
    config = LearnConfig(steps=args.steps, lr=args.lr, batch=args.batch, stages=args.per_stage, token=args.token,
                         init_word=args.init_word)
    config.validate()
    return run_job(args, "learn-style", lambda job: _learn_style(job, config, output))


def _learn_style(job, config, output: Path) -> int:
    from core.priors.inversion import heldout_loss, learn_style_tokens

    args, report, device = job.args, job.report, job.device
    with report.phase("load"):
        painting = load_image(args.painting, long_side=args.size, device=device)
        model = load_model_option(args, device)
    report.inputs = [args.painting, args.model]
    checkpoint = job.checkpoint(output.with_name(f".{output.name}.ckpt"), every=50, meta={
        "painting": str(Path(args.painting).resolve()), "model": str(args.model), "size": list(painting.shape[-2:]),
        "config": repr(config), "seed": job.seed})
    with report.phase("learn"):
        tokens, result = learn_style_tokens(model, painting, config, seed=job.seed, checkpoint=checkpoint,
                                            resume=job.resume, progress=job.progress)
    with report.phase("evaluate"):
        before, after = heldout_loss(model, painting, config, tokens)
    with report.phase("write"):
        tokens.save(output)
    report.outputs = [str(output)]
    report.set_steps(result.steps_done, result.seconds)
    report.metrics = {"method": "prospect" if config.stages > 1 else "inst (plain textual inversion)",
                      "stages": config.stages, "token": config.token, "heldout_loss_initial": before,
                      "heldout_loss_final": after, "interrupted": result.interrupted,
                      "loss_history": [h["total"] for h in result.history]}
    if result.interrupted:
        return job.interrupted(f"wrote the token so far to {output}")
    return 0


def _load_tokens(args, device):
    from core.priors.inversion import StyleTokens, parse_stages

    tokens = StyleTokens.load(args.style_token)
    stages = parse_stages(args.stages, tokens.stages)
    model = load_model_option(args, device, in_channels=4)
    if tokens.vectors.shape[1] != model.text_encoder.config.hidden_size:
        raise InputError(f"{args.style_token} holds {tokens.vectors.shape[1]}-wide embeddings; the model's text "
                         f"encoder is {model.text_encoder.config.hidden_size} wide (learned with another model)")
    return tokens, stages, model


def run_token_image(job, output) -> int:
    """``stylize image PHOTO --method inst --style-token F --model SD`` inside :func:`core.cli.run_job`: img2img
    with the learned token."""
    from core.priors.inversion import sample_with_tokens

    args = job.args
    if args.model is None or args.style_token is None:
        raise InputError(f"--method {args.method} needs --model PATH (a local Stable Diffusion folder) and "
                         f"--style-token FILE (from stylize learn-style)")
    if args.styles:
        raise InputError(f"--method {args.method} takes its style from --style-token, not from a style image")
    if not 0.0 < args.strength <= 1.0:
        raise InputError(f"--strength {args.strength} must be in (0, 1]")
    steps = args.steps if args.steps is not None else TOKEN_DEFAULT_STEPS
    device, report = job.device, job.report
    with report.phase("load"):
        content = load_image(args.content, long_side=args.size, device=device)
        tokens, stages, model = _load_tokens(args, device)
        if args.method == "prospect" and tokens.stages == 1:
            raise InputError(f"--method prospect needs a per-stage token file (stylize learn-style --per-stage 10); "
                             f"{args.style_token} holds one token")
    report.inputs = [args.content, args.style_token, args.model]
    start = time.perf_counter()
    with report.phase("stylize"):
        image = sample_with_tokens(model, tokens, args.prompt, stages=stages, image=content, strength=args.strength,
                                   steps=steps, guidance_scale=args.guidance, negative_prompt=args.negative_prompt,
                                   seed=job.seed, progress=job.progress)
    report.set_steps(steps, time.perf_counter() - start)
    with report.phase("write"):
        save_image(image, output)
    report.outputs = [str(output)]
    report.sizes = {"output": {"width": image.shape[-1], "height": image.shape[-2]}}
    report.metrics = {"method": args.method, "stages": [s + 1 for s in stages], "token": tokens.token}
    return 0


def run_token_generate(job, outputs) -> int:
    """``stylize generate --style-token F --prompt …`` inside :func:`core.cli.run_job`: text-to-image with the
    learned token, one image per prompt."""
    from core.priors.inversion import sample_with_tokens

    args, device, report = job.args, job.device, job.report
    if args.style_ref:
        raise InputError("give --style-ref (shared attention) or --style-token (a learned token), not both")
    with report.phase("load"):
        tokens, stages, model = _load_tokens(args, device)
    report.inputs = [args.style_token, args.model]
    start = time.perf_counter()
    with report.phase("generate"):
        images = [sample_with_tokens(model, tokens, prompt, stages=stages, size=(args.size, args.size),
                                     steps=args.steps, guidance_scale=args.guidance,
                                     negative_prompt=args.negative_prompt, seed=job.seed + i,
                                     progress=job.progress)
                  for i, prompt in enumerate(args.prompt)]
    report.set_steps(args.steps * len(images), time.perf_counter() - start)
    with report.phase("write"):
        for image, path in zip(images, outputs):
            save_image(image, path)
    report.outputs = [str(path) for path in outputs]
    report.sizes = {"output": {"width": images[0].shape[-1], "height": images[0].shape[-2]}, "images": len(images)}
    report.metrics = {"method": "style-token", "stages": [s + 1 for s in stages], "token": tokens.token}
    return 0
