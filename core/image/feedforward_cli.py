"""The ``--method adain|wct`` branch of ``stylize image``: one forward pass through encoder, transform, decoder.

The report splits the time as the issue asks: ``timings.load_s`` (reading the VGG19 and decoder weights) and
``timings.stylize_s`` (everything else: reading images, encoding, transform, decoding, writing).
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from core.errors import InputError
from core.image.feedforward import load_models, stylize_feedforward
from core.image.method_names import FEEDFORWARD_METHODS  # noqa: F401
from core.io.images import load_image, save_image
from core.report import LoadStylizeReport

def load_label_mask(path: str, content_path: str, size: "tuple[int, int]", device) -> torch.Tensor:
    """A grey-level mask drawn at the content file's pixel size, resized (nearest) to ``size=(H, W)``: ``1,1,H,W``."""
    mask = load_image(path, device=device)
    with Image.open(content_path) as img:
        content_w, content_h = img.size
    if tuple(mask.shape[-2:]) != (content_h, content_w):
        raise InputError(f"mask {path} is {mask.shape[-1]}x{mask.shape[-2]} but the content is "
                         f"{content_w}x{content_h}; draw the mask at the content's size")
    grey = mask.mean(dim=1, keepdim=True)
    return F.interpolate(grey, size=size, mode="nearest")


def run_feedforward(job, output: Path) -> int:
    """``stylize image --method adain|wct`` inside :func:`core.cli.run_job` (``job.args``: ``stylize image``'s)."""
    args, device = job.args, job.device
    if not 0.0 <= args.alpha <= 1.0:
        raise InputError(f"--alpha {args.alpha} is out of range; use a value in [0, 1]")
    report = job.report = LoadStylizeReport.like(job.report)
    with report.phase("load"):
        load_models(args.decoder, device)
    with report.phase("stylize"):
        content = load_image(args.content, long_side=args.size, device=device)
        style_side = max(16, round(args.size * args.style_scale))  # --style-scale (StyleLossConfig)
        styles = [load_image(path, long_side=style_side, device=device) for path in args.styles]
        mask = load_label_mask(args.mask, args.content, content.shape[-2:], device) if args.mask else None
        image = stylize_feedforward(content, styles, method=args.method, decoder_path=args.decoder, alpha=args.alpha,
                                    blend=args.blend, mask=mask, preserve_color=args.preserve_color, device=device)
        save_image(image, output)
    report.inputs = [args.content, *args.styles] + ([args.mask] if args.mask else [])
    report.outputs = [str(output)]
    report.sizes = {"output": {"width": content.shape[-1], "height": content.shape[-2]}}
    report.metrics = {"method": args.method, "alpha": args.alpha,
                      "decoder": str(args.decoder) if args.decoder else "shipped default"}
    return 0
