"""The radiance-field section of ``stylize demo``: fit a field to rendered views of the bundled scene, stylize
it (ARF recipe, deferred back-propagation), and show orbit GIFs of the fitted and the stylized field."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from core.config import replace_fields
from core.device import cpu_threads
from core.gallery import Item, Section
from core.io.images import load_image, save_image
from core.scenes import scenes_dir
from stylize3d.camera_paths import path_around
from stylize3d.datasets.posed import load_posed_dataset
from stylize3d.datasets.synthetic import write_synthetic_dataset
from stylize3d.fields.fit import FieldFitConfig, evaluate, fit_field
from stylize3d.fields.io import save_field
from stylize3d.fields.render import render_field
from stylize3d.scene_style import SceneStyleConfig
from stylize3d.stylize import stylize_scene
from stylize3d.video import write_frames

STYLE = "starry_night.jpg"
VIEWS, SIZE, FIT_STEPS, VOXELS, STYLE_STEPS, FRAMES, VIDEO_SIZE = 24, 64, 250, 48 ** 3, 20, 24, 96


def demo_section(out_dir: Path, device: torch.device) -> Section:
    """Render 24 views of ``scenes/splats/sample_scene.ply`` at 64 px (every 8th held out), fit a 48³-point field
    (250 steps), stylize it after Starry Night (20 steps), and write 24-frame orbit GIFs of both at 96 px.
    One intra-op thread on the CPU, as the splat section (two were slower on the shared build machine)."""
    with cpu_threads(device, 1):
        return _field_section(Path(out_dir), device)


def _field_section(out_dir: Path, device: torch.device) -> Section:
    folder = out_dir / "fields"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = load_posed_dataset(write_synthetic_dataset(Path(tmp) / "views", VIEWS, SIZE))
    fit = fit_field(data, FieldFitConfig(steps=FIT_STEPS, voxels=VOXELS, batch_rays=2048), device, progress=True)
    test_views = evaluate(fit.field, data, data.split["test"], (1.0, 1.0, 1.0), with_ssim=False)
    save_field(fit.field, folder / "sample_scene_field.safetensors")
    fitted_s = time.perf_counter() - started
    style = load_image(scenes_dir() / "images" / STYLE, long_side=SIZE * 2, device=device)
    train = data.cameras[data.split["train"]]
    config = replace_fields(SceneStyleConfig, size=SIZE, steps=STYLE_STEPS, lr=0.1)
    result = stylize_scene(fit.field, style, train, config=config, progress=True)
    save_field(result.scene, folder / "sample_scene_field_stylized.safetensors")
    save_image(style, folder / "style.jpg")
    path = path_around("orbit", FRAMES, VIDEO_SIZE, VIDEO_SIZE, cameras=train)
    media = [("style", "fields/style.jpg")]
    for name, field in (("original", fit.field), ("stylized", result.scene)):
        with torch.no_grad():
            rgb = render_field(field, path, VIDEO_SIZE, VIDEO_SIZE, (1.0, 1.0, 1.0)).rgb.clamp(0, 1).cpu()
        write_frames(rgb, folder / f"{name}_orbit.gif", VIDEO_SIZE, VIDEO_SIZE, fps=12)
        media.append((f"{name} field (orbit)", f"fields/{name}_orbit.gif"))
    seconds = time.perf_counter() - started
    mean_psnr = sum(v["psnr"] for v in test_views) / len(test_views)
    caption = (f"stylize fit views/ -o field.safetensors --steps {FIT_STEPS} --voxels {VOXELS} --batch-rays 2048; "
               f"stylize scene field.safetensors scenes/images/{STYLE} -o out --size {SIZE} --steps {STYLE_STEPS}\n"
               f"{VIEWS} views at {SIZE} px rendered from the splat scene; field {'x'.join(map(str, fit.field.resolution[::-1]))}, "
               f"held-out PSNR {mean_psnr:.1f} dB after {fit.seconds:.0f} s of fitting; {seconds:.0f} s in all on "
               f"{device} (fit + evaluation {fitted_s:.0f} s)")
    return Section("Radiance field (dense grid, ARF stylization with deferred back-propagation)",
                   "A grid radiance field fitted on the CPU to views of the bundled splat scene, then stylized; the "
                   "orbit views were never seen in training.",
                   [Item("sample scene field x Starry Night", media, caption,
                         numbers={"held-out PSNR": f"{mean_psnr:.1f} dB", "time": f"{seconds:.0f} s"})])
