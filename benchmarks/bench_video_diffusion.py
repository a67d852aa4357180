"""The video diffusion prior (``stylize video --method diffusion``) against the same edit applied to every frame on
its own, on the bundled clip, in one run.

Rows, for a style image (StyleID-like injection, SD-layout model) and an instruction (InstructPix2Pix-layout model):

* ``per-frame``: every frame its own keyframe, one per batch, no shared anchor — the same edit frame by frame;
* ``joint keyframes``: every frame a keyframe, ``--keyframe-batch`` of them edited together with extended
  attention and the shared anchor (no propagation);
* ``propagated``: keyframes every ``--keyframe-every`` frames edited jointly, the frames between propagated along
  the original's nearest-neighbour correspondences (the default of ``--method diffusion``).

Two reference rows come first: the original frames themselves and their VAE round trip (encode, decode; no
diffusion) — no diffusion edit can be more consistent than its model's decoder.

Columns: seconds per frame, UNet rows per frame, the masked warping error at k = 1 (``core.video.metrics``, the
definition ``stylize metrics-video`` prints; flow on the original frames) and its ratio to ``per-frame``
(issue 29's target: propagated ≤ 0.5×), and the mean absolute change from the original frames (how much was
edited; a "consistent" result that edits nothing is not a result).

Without ``--sd``/``--ip2p`` the tiny random models of the test suite are built in a temporary folder (their
edits are meaningless pictures; the numbers show the mechanism, not a real model's quality).

    .venv/bin/python benchmarks/bench_video_diffusion.py --size 64 --frames 16 --steps 5
    .venv/bin/python benchmarks/bench_video_diffusion.py --costs     # memory and UNet rows at 512², SD 1.5 shapes
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.io.images import load_image  # noqa: E402
from core.priors.loading import load_diffusion_model  # noqa: E402
from core.priors.model import resize_to  # noqa: E402
from core.priors.video_diffusion import VideoDiffusion, VideoDiffusionSettings  # noqa: E402
from core.priors.video_edits import InstructEdit, StyleEdit  # noqa: E402
from core.scenes import scenes_dir  # noqa: E402
from core.video.io import VideoReader  # noqa: E402
from core.video.metrics import warping_errors  # noqa: E402


def tiny_models(folder: Path, output_scale: float) -> "tuple[Path, Path]":
    """The test suite's tiny random SD and InstructPix2Pix folders, written under ``folder``, with the UNet's output
    convolution scaled by ``output_scale`` (the suite uses 0.1: ε̂ changes slowly, so an edit is nearly the
    identity; 1 leaves the random UNet's ε̂ jumpy, so frame-by-frame edits flicker as a real model's do)."""
    sys.path.insert(0, str(ROOT / "tests" / "core" / "priors"))
    import conftest
    from conftest import build_tiny_model

    conftest.UNET_OUTPUT_SCALE = output_scale

    sd, ip2p = folder / "sd", folder / "ip2p"
    build_tiny_model(sd)
    build_tiny_model(ip2p, unet_in_channels=8, pipeline="StableDiffusionInstructPix2PixPipeline")
    return sd, ip2p


def measured(frames, outputs, seconds: float, rows: float) -> dict:
    error = warping_errors(frames, outputs, ranges=(1,))[1]["mse"]
    change = sum(float((o - f).abs().mean()) for o, f in zip(outputs, frames)) / len(frames)
    return {"s_per_frame": seconds / len(frames), "rows_per_frame": rows / len(frames), "k1": error, "change": change}


def run(edit, settings: VideoDiffusionSettings, frames) -> dict:
    pipeline = VideoDiffusion(edit, settings)
    started = time.perf_counter()
    outputs = list(pipeline.frames(iter(frames)))
    return measured(frames, outputs, time.perf_counter() - started, pipeline.stats.unet_rows)


@torch.no_grad()
def round_trip(model, frames) -> dict:
    """The VAE's encode → decode of every frame (at the model's working size and back)."""
    started = time.perf_counter()
    outputs = [resize_to(model.decode_latents(model.encode_images(resize_to(f, model.working_size(*f.shape[-2:])))),
                         tuple(f.shape[-2:])) for f in frames]
    return measured(frames, outputs, time.perf_counter() - started, 0)


def costs(settings: VideoDiffusionSettings, instruct_steps: int) -> None:
    """Memory and UNet rows of ``--method diffusion`` at 512² from Stable Diffusion 1.5's shapes (networks on the
    ``meta`` device, :mod:`priors_costs`' configuration; nothing is downloaded, allocated or run on numbers)."""
    import diffusers
    import transformers
    from priors_costs import GIB, SD15_TEXT, SD15_UNET, SD15_VAE, parameters

    from core.priors.video_diffusion import unet_rows_per_frame

    with torch.device("meta"):
        unet = diffusers.UNet2DConditionModel(**SD15_UNET).half()
        weights = 2 * (parameters(unet) + parameters(diffusers.AutoencoderKL(**SD15_VAE))
                       + parameters(transformers.CLIPTextModel(transformers.CLIPTextConfig(**SD15_TEXT))))
        shapes = []
        hooks = [m.register_forward_pre_hook(lambda m, a: shapes.append(tuple(a[0].shape[1:])))
                 for name, m in unet.named_modules() if name.endswith("attn1")]
        unet(torch.zeros(1, 4, 64, 64, dtype=torch.float16), 500,
             encoder_hidden_states=torch.zeros(1, 77, 768, dtype=torch.float16))
        for hook in hooks:
            hook.remove()
    per_frame_tokens = sum(tokens * channels for tokens, channels in shapes)
    frames = settings.keyframe_every * settings.keyframe_batch + 2  # a chunk and the anchor
    keyframe_rows = settings.keyframe_batch + 2  # anchor, batch, the next chunk's first keyframe
    print(f"## --method diffusion at 512², SD 1.5 shapes, fp16 (computed, not measured): {len(shapes)} "
          f"self-attention layers, {per_frame_tokens / 1e6:.2f} M attention values per frame and step; keyframes "
          f"every {settings.keyframe_every}, {settings.keyframe_batch} per batch, query chunk {settings.query_chunk}")
    print(f"{'':9} {'weights':>8} {'keyframe store':>15} {'trajectories':>13} {'attn chunk':>11} {'sum':>6} "
          f"{'UNet rows/frame':>16}")
    for name, groups, extra, steps in (("style", 1, 1, settings.steps), ("instruct", 3, 0, instruct_steps)):
        store = (1 + groups) * keyframe_rows * per_frame_tokens * 2
        trajectories = frames * steps * 4 * 64 * 64 * 4
        logits = 8 * settings.query_chunk * keyframe_rows * 64 * 64 * 2  # one row's chunk, if materialised
        total = weights + store + trajectories + logits
        rows = unet_rows_per_frame(VideoDiffusionSettings(**{**vars(settings), "steps": steps}), groups, extra)
        print(f"{name:9} {weights / GIB:7.2f}G {store / GIB:14.2f}G {trajectories / GIB:12.2f}G "
              f"{logits / GIB:10.2f}G {total / GIB:5.2f}G {rows:16.1f}")
    print("plus the UNet's own activations for one call (keyframe call: 1 + 2 x keyframe rows for a style, "
          "4 x keyframe rows for an instruction; other calls 2 or 4 x --frame-batch rows)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--costs", action="store_true",
                        help="print the memory and UNet rows at 512² from SD 1.5's shapes instead, and stop")
    parser.add_argument("--clip", default=str(scenes_dir() / "video" / "bbb_clip.mp4"))
    parser.add_argument("--style", default=str(scenes_dir() / "images" / "starry_night.jpg"))
    parser.add_argument("--instruction", default="make it a watercolour")
    parser.add_argument("--sd", default=None, help="a Stable Diffusion folder (default: a tiny random one)")
    parser.add_argument("--ip2p", default=None, help="an InstructPix2Pix folder (default: a tiny random one)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--keyframe-every", type=int, default=4)
    parser.add_argument("--keyframe-batch", type=int, default=4)
    parser.add_argument("--unet-output-scale", type=float, default=1.0,
                        help="tiny models: scale of the random UNet's output convolution (tests use 0.1)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.costs:
        costs(VideoDiffusionSettings(keyframe_every=args.keyframe_every, keyframe_batch=args.keyframe_batch), 20)
        return

    frames = list(VideoReader(args.clip, max_frames=args.frames, long_side=args.size, device=args.device))
    scratch = tempfile.TemporaryDirectory()
    sd, ip2p = (args.sd, args.ip2p) if args.sd and args.ip2p else tiny_models(Path(scratch.name),
                                                                                 args.unet_output_scale)
    sd_model = load_diffusion_model(sd, args.device)
    ip2p_model = load_diffusion_model(ip2p, args.device, in_channels=8)
    size = sd_model.working_size(*frames[0].shape[-2:])
    style = resize_to(load_image(args.style, long_side=max(size), device=args.device), size)
    edits = {"style": StyleEdit(sd_model, style, args.steps), "instruct": InstructEdit(ip2p_model, args.instruction)}
    variants = {
        "per-frame": VideoDiffusionSettings(steps=args.steps, keyframe_every=1, keyframe_batch=1, anchor=False),
        "joint keyframes": VideoDiffusionSettings(steps=args.steps, keyframe_every=1,
                                                  keyframe_batch=args.keyframe_batch),
        "propagated": VideoDiffusionSettings(steps=args.steps, keyframe_every=args.keyframe_every,
                                             keyframe_batch=args.keyframe_batch),
    }
    print(f"clip {Path(args.clip).name}: {len(frames)} frames at {frames[0].shape[-1]}x{frames[0].shape[-2]}, "
          f"{args.steps} DDIM steps, keyframes every {args.keyframe_every}, {args.keyframe_batch} per batch, "
          f"{args.threads} thread(s), models: {'given' if args.sd else 'tiny random'}")
    print(f"{'edit':<9} {'variant':<16} {'s/frame':>8} {'UNet rows/frame':>16} {'k=1 warp err':>13} {'ratio':>6} "
          f"{'mean |change|':>14}")
    def show(name, variant, row, baseline):
        ratio = f"{row['k1'] / baseline:6.2f}" if baseline else f"{'':6}"
        print(f"{name:<9} {variant:<16} {row['s_per_frame']:8.3f} {row['rows_per_frame']:16.1f} "
              f"{row['k1']:13.5f} {ratio} {row['change']:14.4f}")

    show("-", "original frames", measured(frames, frames, 0.0, 0), None)
    for name, edit in edits.items():
        show(name, "VAE round trip", round_trip(edit.model, frames), None)
        baseline = None
        for variant, settings in variants.items():
            row = run(edit, settings, frames)
            baseline = baseline or row["k1"]
            show(name, variant, row, baseline)
    scratch.cleanup()


if __name__ == "__main__":
    main()
