"""The brush-stroke section of ``stylize demo``: the bundled photo painted in the paper's four styles (SVG +
cairosvg PNG, one timelapse), the Impressionist strokes optimised toward a bundled painting, and a few frames of
the bundled clip painted with strokes carried along the flow next to each frame painted on its own."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from core.gallery import Item, Section
from core.io.images import load_image, save_image
from core.scenes import scenes_dir
from vector.strokes.cli import cairo_png, write_timelapse
from vector.strokes.hertzmann import paint
from vector.strokes.presets import PRESETS
from vector.strokes.svg import svg_text

DEMO_PHOTO = "stone_house.png"
DEMO_STYLE = "starry_night.jpg"
DEMO_SIZE = 256
DEMO_STYLE_SIZE = 128
DEMO_STEPS = 15
DEMO_CLIP = "bbb_clip.mp4"
DEMO_CLIP_SIZE = 128
DEMO_CLIP_FRAMES = 24


def demo_section(out_dir: Path, device: torch.device) -> Section:
    """Writes ``out_dir/paint/*``; returns the gallery section. Runs on the CPU whatever ``device`` is (the
    placement and the stroke renderer are CPU-tuned, and the section is small)."""
    folder = Path(out_dir) / "paint"
    folder.mkdir(parents=True, exist_ok=True)
    photo = load_image(scenes_dir() / "images" / DEMO_PHOTO, long_side=DEMO_SIZE)
    save_image(photo, folder / "photo.png")
    _, _, h, w = photo.shape
    section = Section("Painterly rendering with curved brush strokes (Hertzmann 1998)",
                      f"{DEMO_PHOTO} at {DEMO_SIZE} px painted in the paper's four styles: editable SVGs (one "
                      f"<path> per stroke, one <g id=\"brush-R\"> per brush); pictures are cairosvg renderings.")
    media = [("photo", "paint/photo.png")]
    captions = []
    for name in PRESETS:
        start = time.perf_counter()
        with torch.no_grad():
            painting = paint(photo, PRESETS[name])
        seconds = time.perf_counter() - start
        text = painting.svg_text()
        (folder / f"{name}.svg").write_text(text, encoding="utf-8")
        (folder / f"{name}.png").write_bytes(cairo_png(text, w, h))
        media.append((name, f"paint/{name}.png"))
        captions.append(f"{name}: {len(painting.strokes)} strokes in {seconds:.1f} s")
        if name == "impressionist":
            with torch.no_grad():
                write_timelapse(folder / "impressionist_timelapse.gif", painting, seconds=3.0, fps=12)
    section.items.append(Item("Four styles", media, "stylize paint scenes/images/stone_house.png -o painting.svg "
                              f"--size {DEMO_SIZE} --style-preset NAME\n" + "; ".join(captions)))
    section.items.append(Item("Impressionist, stroke by stroke",
                              [("timelapse", "paint/impressionist_timelapse.gif"),
                               ("impressionist SVG", "paint/impressionist.svg")],
                              "--timelapse painting.gif: the strokes in painting order, largest brush first"))
    section.items.append(_style_item(folder))
    section.items.append(_video_item(folder))
    return section


def _video_item(folder: Path) -> Item:
    from core.video import io as vio
    from core.video.metrics import warping_errors
    from vector.strokes.video import VideoPainter, VideoPaintConfig

    reader = vio.VideoReader(scenes_dir() / "video" / DEMO_CLIP, long_side=DEMO_CLIP_SIZE, max_frames=DEMO_CLIP_FRAMES)
    clip = list(reader)
    _, _, h, w = clip[0].shape
    errors, strokes = {}, {}
    for mode in ("seeded", "independent"):
        painter = VideoPainter(PRESETS["impressionist"], VideoPaintConfig(independent=mode == "independent"))
        with torch.no_grad():
            frames = [painter.step(frame).painting for frame in clip]
        with vio.VideoWriter(folder / f"video_{mode}.mp4", w - w % 2, h - h % 2, reader.fps) as writer:
            for painting in frames:
                writer.write(painting.canvas[:, :h - h % 2, :w - w % 2])
        errors[mode] = warping_errors(clip, [p.canvas[None] for p in frames], ranges=(1,))[1]["mse"]
        strokes[mode] = sum(len(p.strokes) for p in frames) / len(frames)
    return Item("A video painted with strokes that follow the motion",
                [("strokes carried along the flow", "paint/video_seeded.mp4"),
                 ("each frame painted on its own", "paint/video_independent.mp4")],
                f"stylize paint scenes/video/{DEMO_CLIP} -o painting.mp4 --size {DEMO_CLIP_SIZE} --max-frames "
                f"{DEMO_CLIP_FRAMES} [--independent]\nwarping error k=1 (masked MSE, lower is steadier): carried "
                f"{errors['seeded']:.5f}, independent {errors['independent']:.5f}; strokes per frame "
                f"{strokes['seeded']:.0f} / {strokes['independent']:.0f}")


def _style_item(folder: Path) -> Item:
    from vector.strokes.stylize import stylize_strokes

    photo = load_image(scenes_dir() / "images" / DEMO_PHOTO, long_side=DEMO_STYLE_SIZE)
    _, _, h, w = photo.shape
    with torch.no_grad():
        base = paint(photo, PRESETS["impressionist"])
    style = load_image(scenes_dir() / "images" / DEMO_STYLE, long_side=DEMO_STYLE_SIZE)
    save_image(style, folder / "style.jpg")
    start = time.perf_counter()
    result = stylize_strokes(base, photo, style, steps=DEMO_STEPS)
    seconds = time.perf_counter() - start
    strokes = result.painting.strokes
    for stem, s in (("before", base.strokes), ("after", strokes)):
        text = svg_text(s, w, h, base.radii)
        (folder / f"style_{stem}.svg").write_text(text, encoding="utf-8")
        (folder / f"style_{stem}.png").write_bytes(cairo_png(text, w, h))
    initial, final = result.stylization.initial["style"], result.stylization.final["style"]
    return Item(f"Strokes optimised toward {DEMO_STYLE}",
                [("Hertzmann strokes", "paint/style_before.png"), ("style", "paint/style.jpg"),
                 ("optimised strokes", "paint/style_after.png"), ("optimised SVG", "paint/style_after.svg")],
                f"stylize paint scenes/images/{DEMO_PHOTO} -o out.svg --size {DEMO_STYLE_SIZE} --style "
                f"scenes/images/{DEMO_STYLE} --steps {DEMO_STEPS}\n{len(strokes)} strokes, {seconds:.1f} s; style "
                f"loss {initial:.3f} → {final:.3f}")
