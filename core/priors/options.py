"""The command-line options of the diffusion methods, without torch or diffusers: ``stylize image --help`` and
``stylize video --help`` build them before anything heavy is imported; the runners beside them
(:mod:`core.priors.styleid_cli`, :mod:`core.priors.token_cli`, :mod:`core.priors.instruct_cli`) read them."""

TOKEN_METHODS = ("inst", "prospect")
"""``stylize image --method`` names of the learned-token methods (InST-, ProSpect-like)."""


MODEL_CONFIG_HELP = ("with a single-file --model checkpoint (.safetensors/.ckpt): a local diffusers folder of the "
                     "same architecture whose configs and tokenizer describe it (its weights are not read)")


def add_model_config_option(group) -> None:
    """``--model-config FOLDER`` beside a command's ``--model``."""
    group.add_argument("--model-config", metavar="FOLDER", default=None, help=MODEL_CONFIG_HELP)


STYLEID_DEFAULT_STEPS = 50
ATTENTION_METHODS = ("styleid", "zstar")


def add_styleid_options(parser) -> None:
    """Options used only by ``--method styleid``."""
    group = parser.add_argument_group("styleid / zstar (training-free diffusion attention methods; need --model "
                                      "and the [diffusion] extra; --layers and --inversion-refinements apply to both)")
    group.add_argument("--model", metavar="PATH", default=None,
                       help="local Stable Diffusion 1.5/2.1-base folder in diffusers layout, or an InstructPix2Pix "
                            "folder for --instruct, or a single-file checkpoint with --model-config (never "
                            "downloaded)")
    add_model_config_option(group)
    group.add_argument("--gamma", type=float, default=0.75, help="query blend: γ·q_content + (1−γ)·q_stylized")
    group.add_argument("--temperature", type=float, default=1.5, help="attention temperature T (>1 sharpens)")
    group.add_argument("--layers", default=None, metavar="I,J,…",
                       help="decoder self-attention layers that inject (default: the last five; negative from the end)")
    group.add_argument("--no-adain-init", action="store_true",
                       help="start from the content's inverted noise without matching the style's statistics")
    group.add_argument("--inversion-refinements", type=int, default=0, metavar="N",
                       help="fixed-point passes per DDIM inversion step (closer inversion, N more UNet calls per step)")
    group.add_argument("--zstar-weight", type=float, default=2.0, metavar="W",
                       help="zstar: reweighting of the style's keys (attention logits + log W; 1 = plain)")


def add_token_options(parser, image: bool = True) -> None:
    """Options of sampling with a learned token; ``image``: also those ``stylize generate`` has or needs not
    (--prompt, --strength, --guidance)."""
    group = parser.add_argument_group("style tokens (--method inst / prospect; learned by stylize learn-style)")
    group.add_argument("--style-token", metavar="TOKEN.safetensors", default=None,
                       help="learned style token file (diffusers' textual-inversion format)")
    if image:
        group.add_argument("--prompt", default="", metavar="TEXT",
                           help="text prompt; {} marks where the token goes (without {}, 'in the style of TOKEN' "
                                "is appended)")
    group.add_argument("--negative-prompt", default="", metavar="TEXT", help="negative prompt of the guidance")
    group.add_argument("--stages", default=None, metavar="A-B,…",
                       help="per-stage token files: 1-based stages that take the style tokens, e.g. 6-10 for "
                            "texture/material only (default: all); the others see the plain prompt")
    if image:
        group.add_argument("--strength", type=float, default=0.6,
                           help="img2img: how far the photo is noised before denoising (0: unchanged, 1: all noise)")
        group.add_argument("--guidance", type=float, default=7.5, help="classifier-free guidance scale")


INSTRUCT_DEFAULT_STEPS = 20


def add_instruct_options(parser, standalone: bool = False, video: bool = False, guidance: bool = False) -> None:
    """``--instruct`` and its scales; ``standalone``: also ``--model`` and ``--guidance`` (for commands that lack
    them); ``guidance``: ``--guidance`` only; ``video``: also ``--keyframe-every``."""
    group = parser.add_argument_group("instruct (InstructPix2Pix edits; --model names a local InstructPix2Pix folder)")
    group.add_argument("--instruct", default=None, metavar="TEXT",
                       help="edit instruction, e.g. 'make it look like a watercolour' (no style image needed)")
    group.add_argument("--image-guidance", type=float, default=1.5,
                       help="image guidance scale s_I: how closely the edit keeps the input photo")
    if standalone:
        group.add_argument("--model", metavar="PATH", default=None,
                           help="local InstructPix2Pix folder in diffusers layout, or a single-file checkpoint "
                                "with --model-config (never downloaded)")
        add_model_config_option(group)
    if standalone or guidance:
        group.add_argument("--guidance", type=float, default=7.5, help="text guidance scale s_T")
    group.add_argument("--instruct-steps", type=int, default=INSTRUCT_DEFAULT_STEPS,
                       help="denoising steps per edit")
    if video:
        group.add_argument("--keyframe-every", type=int, default=None, metavar="K",
                           help="edit every K-th frame (default 1; 4 with --method diffusion); frames between "
                                "follow by flow and the temporal loss, their occluded parts by the keyframe's "
                                "colour map (--method diffusion: by the original's feature correspondences)")
