"""The score-distillation options shared by every optimisation front end (``stylize scene``, ``stylize svg``…).

``add_sds_options(parser)`` adds ``--prompt/--model/--sds-weight/--sds-resolution``; ``sds_term(args, device)``
turns them into a :data:`core.stylization.Term` (or None when no prompt is given). diffusers is imported only
when a prompt is used.
"""

from typing import Optional

from core.errors import InputError
from core.priors.options import add_model_config_option
from core.stylization import Term


def add_sds_options(parser) -> None:
    group = parser.add_argument_group("score distillation (a diffusion prior; needs --model and the [diffusion] extra)")
    group.add_argument("--prompt", default=None, help="text prompt for a score-distillation (SDS) term; needs --model")
    group.add_argument("--model", default=None, metavar="PATH",
                       help="local Stable Diffusion folder (diffusers layout) for --prompt (with --instruct: the "
                            "InstructPix2Pix folder), or a single-file checkpoint with --model-config")
    add_model_config_option(group)
    group.add_argument("--sds-weight", type=float, default=1.0, help="weight of the SDS term")
    group.add_argument("--sds-resolution", type=int, default=512, metavar="PX",
                       help="long side renders are resized to for the diffusion model (512 for SD 1.5/2.1-base)")


def sds_term(args, device) -> Optional[Term]:
    """The SDS term of the parsed options: ``(image, view) -> {"sds": weighted loss}``, or None without a prompt."""
    if args.prompt is None and args.model is None:
        return None
    if not (args.prompt and args.model):
        raise InputError("--prompt and --model go together (the SDS term needs a text and a local Stable Diffusion folder)")
    from core.priors.loading import load_model_option
    from core.priors.sds import SDSLoss

    loss = SDSLoss(load_model_option(args, device, in_channels=4), args.prompt, weight=args.sds_weight,
                   resolution=args.sds_resolution, seed=args.seed, device=device)
    return lambda image, view: {"sds": loss(image)}
