"""``stylize demo``: run every front end's showcase on the bundled scenes and write ``OUT/index.html``.

The core contributes the 2D image section; other packages add theirs through the entry-point group
``stylize.demos`` (a function ``(out_dir: Path, device: torch.device) -> core.gallery.Section``).
"""

import time
from importlib.metadata import entry_points
from pathlib import Path

import torch

from core.cli import add_command, add_common_options, run_job
from core.commands import COMMANDS
from core.gallery import Item, Section, write_gallery
from core.config import replace_fields
from core.image.fast import FastConfig, stylize_fast
from core.image.gatys import GatysConfig, stylize_gatys
from core.io.images import load_image, save_image
from core.scenes import scenes_dir

DEMO_GROUP = "stylize.demos"
IMAGE_DEMO_CONTENT = "stone_house.png"
IMAGE_DEMO_STYLES = ("starry_night.jpg", "great_wave.jpg")


def register(subparsers) -> None:
    p = add_command(subparsers, "demo", COMMANDS["demo"].help)
    p.add_argument("--out", default="out", help="output folder (index.html, pictures, videos)")
    p.add_argument("--size", type=int, default=320, help="long side of the 2D image results")
    p.add_argument("--steps", type=int, default=40, help="optimisation steps of the 2D image results")
    p.add_argument("--only", default=None,
                   help="comma-separated sections to run: image and any of the installed front ends "
                        f"({', '.join(sorted(e.name for e in entry_points(group=DEMO_GROUP))) or 'none installed'})")
    add_common_options(p, seed=False)
    p.set_defaults(func=run)


def image_section(out_dir: Path, device: torch.device, size: int, steps: int) -> Section:
    """Stylize the bundled photo with each bundled painting, by Gatys (``steps`` L-BFGS steps) and by the quick
    path (``--method fast``); returns the gallery section."""
    images = scenes_dir() / "images"
    folder = out_dir / "image"
    content = load_image(images / IMAGE_DEMO_CONTENT, long_side=size, device=device)
    save_image(content, folder / "content.jpg")
    section = Section("Images (Gatys, L-BFGS; the quick path)",
                      f"Bundled photo stylized at {size} px: Gatys with {steps} L-BFGS steps, and --method fast, "
                      f"on {device}.")
    fast = FastConfig()
    for name in IMAGE_DEMO_STYLES:
        style = load_image(images / name, long_side=size, device=device)
        start = time.perf_counter()
        result = stylize_gatys(content, [style], replace_fields(GatysConfig, steps=steps), progress=True)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        quick = stylize_fast(content, load_image(images / name, long_side=fast.style_side(size), device=device), fast)
        quick_seconds = time.perf_counter() - start
        stem = Path(name).stem
        save_image(style, folder / f"style_{stem}.jpg")
        save_image(result.image, folder / f"result_{stem}.png")
        save_image(quick, folder / f"fast_{stem}.png")
        section.items.append(Item(
            title=f"{IMAGE_DEMO_CONTENT} × {name}",
            media=[("content", "image/content.jpg"), ("style", f"image/style_{stem}.jpg"),
                   ("result", f"image/result_{stem}.png"), ("fast", f"image/fast_{stem}.png")],
            caption=f"stylize image scenes/images/{IMAGE_DEMO_CONTENT} scenes/images/{name} -o result.png "
                    f"--size {size} --steps {steps}\n{seconds:.1f} s on {device}; style loss "
                    f"{result.stylization.initial['style']:.3f} → {result.stylization.final['style']:.3f}\n"
                    f"fast: the same with --method fast, {quick_seconds:.1f} s"))
    return section


def run(args) -> int:
    return run_job(args, "demo", _run_demo)


def _run_demo(job) -> int:
    args, report, device = job.args, job.report, job.device
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = None if args.only is None else {name.strip() for name in args.only.split(",") if name.strip()}
    sections = []
    if wanted is None or "image" in wanted:
        with report.phase("image"):
            sections.append(image_section(out_dir, device, args.size, args.steps))
    for entry in sorted(entry_points(group=DEMO_GROUP), key=lambda e: e.name):
        if wanted is not None and entry.name not in wanted:
            continue
        print(f"[demo] {entry.name} ...", flush=True)
        with report.phase(entry.name):
            sections.append(entry.load()(out_dir, device))
    path = write_gallery(out_dir, sections)
    report.outputs = [str(path)]
    print(f"[demo] gallery written to {path} ({', '.join(f'{k} {v:.0f} s' for k, v in report.phases.items())})")
    return 0
