"""What ``stylize scene`` writes when a stylization (by picture or by ``--instruct``) ends: the stylized scene,
preview PNGs (original | stylized), ``orbit.mp4``, ``side_by_side.mp4`` and ``report.json``."""

from __future__ import annotations

from pathlib import Path

import torch

from core.io.images import save_image
from stylize3d.camera_paths import path_around
from stylize3d.cameras import Cameras
from stylize3d.representations import render_scene_all, representation_of, save_scene
from stylize3d.scene_args import video_size
from stylize3d.video import write_frames

PREVIEW_VIEWS = 4
"""Views shown as original | stylized PNGs."""


def write_scene_results(job, original, result, cameras: Cameras, train_size: int, ply_out: Path, metrics: dict,
                        interrupted_note: str = "") -> int:
    """The end of ``stylize scene`` (by style picture or by ``--instruct``): write the stylized scene to ``ply_out``,
    previews beside it unless the run was interrupted, and ``report.json`` with the shared figures plus ``metrics``;
    return the command's exit code."""
    args, report, out_dir = job.args, job.report, ply_out.parent
    interrupted = result.stylization.interrupted
    with report.phase("write_ply"):
        save_scene(result.scene, ply_out)
    outputs = [str(ply_out)]
    if not interrupted:
        with report.phase("previews"):
            outputs += write_previews(original, result.scene, cameras, out_dir, args)
    report_path = out_dir / "report.json"
    report.outputs = outputs + [str(report_path)]
    report.set_steps(result.optimization.steps_done, result.optimization.seconds)
    report.sizes = {**representation_of(original).sizes(original), "training_views": len(cameras),
                    "train_size": train_size}
    report.metrics = {"initial": result.stylization.initial, "final": result.stylization.final,
                      "interrupted": interrupted, **metrics,
                      "loss_history": [h.get("total") for h in result.optimization.history]}
    report.write(report_path)
    if interrupted:
        return job.interrupted(f"wrote the scene as of the last step to {ply_out}{interrupted_note}")
    return 0


def write_previews(original, stylized, cameras: Cameras, out_dir: Path, args) -> list:
    """Preview PNGs (original | stylized scene, any representation) of a few of ``cameras``, ``orbit.mp4`` and
    ``side_by_side.mp4`` in ``out_dir``, at ``args.size``; the paths written."""
    outputs = []
    picks = torch.linspace(0, len(cameras) - 1, min(PREVIEW_VIEWS, len(cameras))).round().long().tolist()
    width, height = video_size(cameras, args.size)
    before = render_scene_all(original, cameras[picks], width, height).rgb
    after = render_scene_all(stylized, cameras[picks], width, height).rgb
    for n in range(len(picks)):
        path = out_dir / "views" / f"view_{n:02d}.png"
        save_image(torch.cat([before[n], after[n]], dim=2), path)
        outputs.append(str(path))
    if args.video_frames:
        path = path_around("orbit", args.video_frames, width, height, cameras=cameras)
        before = render_scene_all(original, path, width, height).rgb
        after = render_scene_all(stylized, path, width, height).rgb
        write_frames(after, out_dir / "orbit.mp4", width, height, args.fps)
        write_frames(torch.cat([before, after], dim=3), out_dir / "side_by_side.mp4", 2 * width, height, args.fps)
        outputs += [str(out_dir / "orbit.mp4"), str(out_dir / "side_by_side.mp4")]
    return outputs

