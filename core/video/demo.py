"""Gallery section for ``stylize demo``: the bundled clip stylized per frame and with temporal consistency.

Small on purpose (16 frames at 160 px, few steps) so it stays within the demo's time on a CPU. Writes
``OUT/video/{original,per_frame,consistent,side_by_side}.mp4`` and an animated ``side_by_side.gif`` preview.
"""

import time
from pathlib import Path

import torch

from core.gallery import Item, Section
from core.config import replace_fields
from core.image.gatys import GatysConfig
from core.io.images import load_image
from core.scenes import scenes_dir
from core.video import io as vio
from core.video.consistency import TemporalConsistency, TemporalSettings
from core.video.metrics import warping_errors
from core.video.stylizers import GatysFrameStylizer

CLIP = "video/bbb_clip.mp4"
STYLE = "images/starry_night.jpg"
FRAMES, SIZE, STEPS, FIRST_STEPS = 16, 160, 8, 24


def _write(path: Path, frames, fps) -> None:
    staged = vio.staged_output(path)
    try:
        with vio.VideoWriter(staged.tmp, frames[0].shape[-1], frames[0].shape[-2], fps) as writer:
            for frame in frames:
                writer.write(frame)
    except BaseException:
        vio.discard(staged)
        raise
    vio.publish(staged)


def demo_section(out_dir: Path, device: torch.device) -> Section:
    """Stylize the bundled clip without and with consistency; return the gallery section."""
    folder = Path(out_dir) / "video"
    reader = vio.VideoReader(scenes_dir() / CLIP, long_side=SIZE, max_frames=FRAMES, device=device)
    originals = list(reader)
    style = load_image(scenes_dir() / STYLE, long_side=SIZE, device=device)
    results, seconds = {}, {}
    for mode in ("none", "optimize"):
        torch.manual_seed(0)
        stylizer = GatysFrameStylizer([style], replace_fields(GatysConfig, steps=STEPS))
        settings = TemporalSettings(mode=mode, steps=STEPS, first_frame_steps=FIRST_STEPS)
        started = time.perf_counter()
        results[mode] = list(TemporalConsistency(stylizer, settings).run(originals))
        seconds[mode] = (time.perf_counter() - started) / len(originals)
    errors = {mode: warping_errors(originals, frames, ranges=(1,))[1]["mse"] for mode, frames in results.items()}
    side_by_side = [torch.cat(row, dim=-1) for row in zip(originals, results["none"], results["optimize"])]
    for name, frames in (("original", originals), ("per_frame", results["none"]), ("consistent", results["optimize"]),
                         ("side_by_side", side_by_side)):
        _write(folder / f"{name}.mp4", frames, reader.fps)
    _write(folder / "side_by_side.gif", side_by_side, reader.fps)
    width, height = reader.size
    caption = (f"stylize video scenes/{CLIP} scenes/{STYLE} -o out.mp4 --size {SIZE} --max-frames {FRAMES} "
               f"--steps {STEPS} --first-steps {FIRST_STEPS} --consistency none|optimize\n"
               f"warping error k=1 (masked MSE, lower is steadier): per-frame {errors['none']:.5f}, "
               f"consistent {errors['optimize']:.5f}; {seconds['none']:.1f} / {seconds['optimize']:.1f} s per frame "
               f"on {device}.\nBig Buck Bunny (excerpt) (c) 2008 Blender Foundation / www.bigbuckbunny.org, CC BY 3.0.")
    item = Item(title=f"Big Buck Bunny × Starry Night ({FRAMES} frames, {width}x{height})",
                media=[("original | per-frame | consistent (MP4)", "video/side_by_side.mp4"),
                       ("animated preview (GIF)", "video/side_by_side.gif")],
                caption=caption)
    return Section("Video (temporal consistency)",
                   "Per-frame Gatys flickers; the consistency module (optical flow, Ruder et al. temporal loss, "
                   "initialisation from the warped previous frame) steadies it.", [item])
