"""The SVG section of ``stylize demo``: bundled logos restyled after a bundled painting (small, CPU-friendly)."""

from __future__ import annotations

import time
from pathlib import Path

import cairosvg
import torch

from core.device import cpu_threads
from core.gallery import Item, Section
from core.io.images import load_image, save_image
from core.scenes import scenes_dir
from core.config import replace_fields
from vector.restyle import RestyleConfig, render_size, restyle_scene
from vector.svg import parse_svg
from vector.writer import write_svg

DEMO_LOGOS = ("sunflower.svg", "badge_gradient.svg")
DEMO_STYLE = "starry_night.jpg"
DEMO_CONFIG = replace_fields(RestyleConfig, size=96, steps=30, crops=0)


def demo_section(out_dir: Path, device: torch.device) -> Section:
    """Restyle the demo logos; writes ``out_dir/svg/*`` and returns the gallery section.

    On CPU it runs on one intra-op thread (restored afterwards): the rasterizer's many small ops lose to
    thread hand-offs, and on the shared 2-core build machine the section took 284 s with torch's default
    2 threads against 40 s with one.
    """
    with cpu_threads(device, 1):
        return _restyle_logos(Path(out_dir), device)


def _restyle_logos(out_dir: Path, device: torch.device) -> Section:
    folder = out_dir / "svg"
    folder.mkdir(parents=True, exist_ok=True)
    scenes = scenes_dir()
    style = load_image(scenes / "images" / DEMO_STYLE, long_side=256, device=device)
    save_image(style, folder / "style.jpg")
    config = DEMO_CONFIG
    section = Section("SVG restyling (editable output)",
                      f"Bundled logos restyled after {DEMO_STYLE} at {config.size} px, {config.loop.steps} Adam steps "
                      f"(colours, points, widths), on {device}. Pictures are cairosvg renderings of the SVG files.")
    for name in DEMO_LOGOS:
        source = scenes / "svg" / name
        stem = Path(name).stem
        scene = parse_svg(source, device=device)
        width, height = render_size(scene, 256)
        cairosvg.svg2png(url=str(source), write_to=str(folder / f"{stem}.png"), output_width=width,
                         output_height=height, background_color="white")
        start = time.perf_counter()
        result = restyle_scene(scene, style, config, progress=False)
        seconds = time.perf_counter() - start
        write_svg(scene, folder / f"{stem}_restyled.svg")
        cairosvg.svg2png(url=str(folder / f"{stem}_restyled.svg"), write_to=str(folder / f"{stem}_restyled.png"),
                         output_width=width, output_height=height, background_color="white")
        section.items.append(Item(
            title=f"{name} × {DEMO_STYLE}",
            media=[("original", f"svg/{stem}.png"), ("style", "svg/style.jpg"),
                   ("restyled (cairosvg)", f"svg/{stem}_restyled.png"), ("restyled SVG", f"svg/{stem}_restyled.svg")],
            caption=f"stylize svg scenes/svg/{name} scenes/images/{DEMO_STYLE} -o {stem}_restyled.svg "
                    f"--size {config.size} --steps {config.loop.steps} --crops {config.crops}\n{seconds:.1f} s on {device}; "
                    f"style loss {result.stylization.initial['style']:.3f} → {result.stylization.final['style']:.3f}"))
    return section
