"""Shared helpers for the vector tests: bundled scenes and a cairosvg reference render."""

import io
import pathlib

import numpy as np
import torch

from core.metrics import psnr

SCENES = pathlib.Path(__file__).resolve().parents[2] / "scenes" / "svg"
BUNDLED = sorted(SCENES.glob("*.svg"))


def cairo_rgb(svg, width, height) -> np.ndarray:
    """cairosvg's rendering on white, (H, W, 3) float in [0, 1]. ``svg``: path or text."""
    import cairosvg
    from PIL import Image

    kwargs = {"url": str(svg)} if isinstance(svg, pathlib.Path) else {"bytestring": svg.encode()}
    png = cairosvg.svg2png(**kwargs, output_width=width, output_height=height, background_color="white")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255.0


def rgb_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`core.metrics.psnr` of two ``H,W,3`` float arrays in [0, 1] (e.g. :func:`cairo_rgb` renderings)."""
    return psnr(torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(np.ascontiguousarray(b)))
