"""`ns-train stylize-splat` (the nerfstudio plug-in) on the bundled scene, timed, with style/content distances.

Runs in an environment with nerfstudio 1.1.5 (`make nerfstudio-env`, or the wheels named in gpu_session.sh):

    .venv-nerfstudio/bin/python benchmarks/bench_nerfstudio.py --device cpu --size 64 --views 9 --steps 5
    python3 benchmarks/bench_nerfstudio.py --device cuda --size 512 --views 48 --steps 300    # GPU session

It builds a splatfacto run by hand: the bundled scene (SH padded to degree 1 with zeros, the same colours) as
``nerfstudio_models/step-000030000.ckpt`` and its renders as a Blender-layout data folder
(:mod:`stylize3d.datasets.synthetic`), then runs nerfstudio's trainer for ``--steps`` stylize-splat steps in this
process (the same trainer ``ns-train`` builds; in-process so that torchmetrics' LPIPS, an evaluation metric whose
AlexNet weights would be downloaded, can be replaced by a stand-in). Prints setup and training seconds (wall and
CPU), seconds per step, and the mean style distance (core.metrics, Gram, 256 px) to the style picture and content
distance to the original renders over the held-out views, before and after.
"""

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path

import torch

from core.io.images import load_image
from core.metrics import content_distance, style_distance
from core.scenes import scenes_dir
from stylize3d.datasets.runs import load_camera_source
from stylize3d.datasets.synthetic import write_synthetic_dataset
from stylize3d.nerfstudio.bridge import splatfacto_scene
from stylize3d.splats.ply import read_ply
from stylize3d.splats.render import render_all


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def splatfacto_checkpoint(scene, path: Path, step: int) -> dict:
    """Write ``scene`` as a splatfacto checkpoint (``pipeline["_model.gauss_params.*"]``); returns the params."""
    params = {"means": scene.means, "scales": scene.log_scales, "quats": scene.quats,
              "features_dc": scene.sh[:, 0].contiguous(), "features_rest": scene.sh[:, 1:].contiguous(),
              "opacities": scene.opacity_logits[:, None]}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"step": step, "pipeline": {f"_model.gauss_params.{k}": v for k, v in params.items()},
                "optimizers": {}, "schedulers": {}, "scalers": {}}, path)
    return params


def no_lpips() -> None:
    import torchmetrics.image.lpip

    class NoLpips(torch.nn.Module):
        def __init__(self, *args, **kwargs):
            super().__init__()

        def forward(self, a, b):
            return torch.zeros((), device=a.device)

    torchmetrics.image.lpip.LearnedPerceptualImagePatchSimilarity = NoLpips


def distances(params: dict, cameras, size: int, style, originals=None):
    views = render_all(splatfacto_scene(params), cameras, size, size, (1.0, 1.0, 1.0))
    s = sum(style_distance(v[None], style) for v in views.rgb) / len(views.rgb)
    c = None if originals is None else sum(content_distance(v[None], o[None]) for v, o in zip(views.rgb, originals)) / len(views.rgb)
    return s, c, views.rgb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--views", type=int, default=48)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--style", default=str(scenes_dir() / "images" / "starry_night.jpg"))
    ap.add_argument("--out", default="/tmp/bench_nerfstudio")
    ap.add_argument("--report", default=None, help="write the numbers as JSON here")
    args = ap.parse_args()
    from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig

    from stylize3d.nerfstudio.method import trainer_config

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    scene = read_ply(scenes_dir() / "splats" / "sample_scene.ply").with_sh_degree(1)
    data = write_synthetic_dataset(out / "data", views=args.views, size=args.size, scene=scene)
    shutil.copy(data / "transforms_test.json", data / "transforms_val.json")  # nerfstudio's Blender parser reads val
    start = splatfacto_checkpoint(scene, out / "run" / "nerfstudio_models" / "step-000030000.ckpt", 30000)
    cameras, _ = load_camera_source(data, split="test")
    style = load_image(args.style, long_side=512)
    style_before, _, originals = distances(start, cameras, args.size, style)

    no_lpips()
    config = trainer_config()
    config.pipeline.datamanager.data = data
    config.pipeline.datamanager.dataparser = BlenderDataParserConfig()
    config.pipeline.model.style_image = Path(args.style)
    config.load_dir = out / "run" / "nerfstudio_models"
    config.max_num_iterations = args.steps
    config.machine.device_type = args.device
    config.vis = "tensorboard"
    config.output_dir, config.experiment_name, config.timestamp = out / "outputs", "bench", "run"
    config.save_config()
    wall, cpu = time.perf_counter(), cpu_seconds()
    trainer = config.setup(local_rank=0, world_size=1)
    trainer.setup()
    setup_wall, setup_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    wall, cpu = time.perf_counter(), cpu_seconds()
    trainer.train()
    if args.device == "cuda":
        torch.cuda.synchronize()
    train_wall, train_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    ckpt = sorted((config.get_checkpoint_dir()).glob("step-*.ckpt"))[-1]
    saved = torch.load(ckpt, map_location="cpu")["pipeline"]
    final = {k[len("_model.gauss_params."):]: v for k, v in saved.items() if k.startswith("_model.gauss_params.")}
    style_after, content_after, _ = distances(final, cameras, args.size, style, originals)
    result = {"device": args.device, "views": args.views, "size": args.size, "steps": args.steps,
              "gaussians": scene.num_gaussians, "setup_wall_s": setup_wall, "setup_cpu_s": setup_cpu,
              "train_wall_s": train_wall, "train_cpu_s": train_cpu, "per_step_s": train_wall / args.steps,
              "style_stage": int(saved["_model.style_stage"]),
              "means_unchanged": bool(torch.equal(final["means"], start["means"])),
              "style_distance_before": style_before, "style_distance_after": style_after,
              "content_distance_after": content_after, "load_average": os.getloadavg()}
    print(json.dumps(result, indent=1))
    print(f"| device | px | steps | setup s | train s | s/step | style dist before → after | content dist |\n"
          f"|---|---|---|---|---|---|---|---|\n"
          f"| {args.device} | {args.size} | {args.steps} | {setup_wall:.1f} | {train_wall:.1f} | "
          f"{train_wall / args.steps:.3f} | {style_before:.4g} → {style_after:.4g} | {content_after:.4g} |")
    if args.report:
        Path(args.report).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
