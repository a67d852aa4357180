"""A loss-curve PNG drawn with Pillow (no plotting library needed): log-scale y, one line per loss term."""

import math
from pathlib import Path
from typing import List, Sequence

from PIL import Image, ImageDraw

from core.atomic import atomic_output

COLOURS = {"total": (20, 20, 20), "content": (31, 119, 180), "style": (214, 39, 40), "identity": (44, 160, 44),
           "contrastive": (148, 103, 189)}


def smoothed(values: Sequence[float], window: int) -> List[float]:
    """Trailing moving average of ``values`` over ``window`` (≥ 1) entries."""
    out, running = [], 0.0
    for i, v in enumerate(values):
        running += v
        if i >= window:
            running -= values[i - window]
        out.append(running / min(i + 1, window))
    return out


def plot_losses(log: Sequence[dict], path: "str | Path", size=(800, 480), window: int = 5) -> Path:
    """Draw the terms of a training loss log (dicts with ``iteration`` and float terms) to ``path``.

    The y axis is log10 with a grid line per power of ten; curves are smoothed by a trailing moving average.
    """
    path = Path(path)
    terms = [t for t in COLOURS if any(t in entry for entry in log)]
    width, height = size
    left, right, top, bottom = 70, 130, 20, 40
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    values = [entry[t] for entry in log for t in terms if entry.get(t, 0) > 0]
    if not log or not values:
        draw.text((left, top), "no losses logged", fill="black")
    else:
        lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        hi = max(hi, lo + 1)
        first, last = log[0]["iteration"], max(log[-1]["iteration"], log[0]["iteration"] + 1)

        def xy(iteration, value):
            x = left + (iteration - first) / (last - first) * (width - left - right)
            y = top + (hi - math.log10(value)) / (hi - lo) * (height - top - bottom)
            return x, y

        for e in range(lo, hi + 1):
            _, y = xy(first, 10.0 ** e)
            draw.line([(left, y), (width - right, y)], fill=(225, 225, 225))
            draw.text((8, y - 6), f"1e{e}", fill="black")
        draw.rectangle([left, top, width - right, height - bottom], outline="black")
        draw.text((left, height - bottom + 8), f"iteration {first}", fill="black")
        draw.text((width - right - 90, height - bottom + 8), f"{last}", fill="black")
        for row, term in enumerate(terms):
            points = [(e["iteration"], e[term]) for e in log if e.get(term, 0) > 0]
            curve = smoothed([v for _, v in points], window)
            line = [xy(i, v) for (i, _), v in zip(points, curve)]
            if len(line) > 1:
                draw.line(line, fill=COLOURS[term], width=2)
            draw.text((width - right + 10, top + 16 * row), term, fill=COLOURS[term])
    with atomic_output(path) as tmp:
        img.save(tmp, format="PNG")
    return path
