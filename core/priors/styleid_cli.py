"""``stylize image --method styleid|zstar``: the options and runner of the training-free attention methods
(StyleID-like injection, :mod:`core.priors.style_injection`; Z-Star-like reweighting, :mod:`core.priors.zstar`).

Kept beside the priors so the image command only imports diffusers when this method is chosen.
"""

import time

from core.errors import InputError
from core.io.images import load_image, save_image
from core.priors.loading import load_model_option
from core.priors.options import ATTENTION_METHODS, STYLEID_DEFAULT_STEPS, add_styleid_options  # noqa: F401

def run_styleid(job, output) -> int:
    """Run StyleID or Z-Star (``job.args.method``) inside :func:`core.cli.run_job` (``job.args``: ``stylize
    image``'s) and write ``output``."""
    from core.priors.cli import parse_layers
    from core.priors.style_injection import stylize_styleid
    from core.priors.zstar import stylize_zstar

    args = job.args
    method = args.method
    if args.model is None:
        raise InputError(f"--method {method} needs --model PATH (a local Stable Diffusion folder in diffusers layout)")
    if len(args.styles) != 1:
        raise InputError(f"--method {method} takes exactly one style image")
    unsupported = [name for name, used in (("--mask", args.mask), ("--blend", args.blend),
                                           ("--preserve-color", args.preserve_color), ("--resume", args.resume))
                   if used]
    if unsupported:
        raise InputError(f"--method {method} does not support {', '.join(unsupported)}")
    steps = args.steps if args.steps is not None else STYLEID_DEFAULT_STEPS
    if steps < 1 or args.inversion_refinements < 0:
        raise InputError("--steps must be at least 1 and --inversion-refinements at least 0")
    layers = parse_layers(args.layers)
    device, report = job.device, job.report
    with report.phase("load"):
        content = load_image(args.content, long_side=args.size, device=device)
        style = load_image(args.styles[0], long_side=args.size, device=device)
        model = load_model_option(args, device)
    report.inputs = [args.content, args.styles[0], args.model]
    start = time.perf_counter()
    with report.phase("stylize"):
        if method == "zstar":
            image = stylize_zstar(content, style, model, weight=args.zstar_weight, steps=steps, layers=layers,
                                  seed=args.seed, inversion_refinements=args.inversion_refinements, device=device,
                                  progress=not args.quiet)
        else:
            image = stylize_styleid(content, style, model, gamma=args.gamma, temperature=args.temperature,
                                    steps=steps, layers=layers, adain_init=not args.no_adain_init, seed=args.seed,
                                    inversion_refinements=args.inversion_refinements, device=device,
                                    progress=not args.quiet)
    report.set_steps(steps, time.perf_counter() - start)
    with report.phase("write"):
        save_image(image, output)
    report.outputs = [str(output)]
    report.sizes = {"output": {"width": content.shape[-1], "height": content.shape[-2]}}
    return 0
