"""A held-out PSNR-vs-time curve as PNG, drawn with Pillow (matplotlib is not a dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw

from core.atomic import atomic_output


def plot_psnr_curve(curve: Sequence[dict], path: "str | Path", size=(640, 400), title: str = "") -> Path:
    """Draw ``curve`` (dicts with ``seconds`` and ``psnr`` in dB) as a line with labelled axes to ``path``."""
    width, height = size
    left, right, top, bottom = 60, 20, 30, 40
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.text((left, 8), title or "held-out PSNR vs fitting time", fill="black")
    points = [(float(c["seconds"]), float(c["psnr"])) for c in curve]
    if not points:
        draw.text((left, top + 20), "no evaluations recorded", fill="black")
    else:
        t_max = max(max(p[0] for p in points), 1e-6)
        lo = min(p[1] for p in points)
        hi = max(p[1] for p in points)
        lo, hi = int(lo) - 1, int(hi) + 2
        def xy(t, v):
            return (left + (width - left - right) * t / t_max,
                    height - bottom - (height - top - bottom) * (v - lo) / (hi - lo))
        for v in range(lo, hi + 1, max(1, (hi - lo) // 8)):
            y = xy(0, v)[1]
            draw.line([(left, y), (width - right, y)], fill=(225, 225, 225))
            draw.text((8, y - 6), f"{v} dB", fill="black")
        for k in range(5):
            t = t_max * k / 4
            x = xy(t, lo)[0]
            draw.text((x - 10, height - bottom + 6), f"{t:.0f} s", fill="black")
        draw.line([xy(*p) for p in points] if len(points) > 1 else [xy(*points[0])] * 2, fill=(214, 39, 40), width=2)
        for p in points:
            x, y = xy(*p)
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(214, 39, 40))
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    path = Path(path)
    with atomic_output(path) as tmp:
        img.save(tmp, format="PNG")
    return path
