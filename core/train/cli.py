"""``stylize train-decoder``: train the feed-forward (AdaIN/WCT) decoder on folders of content and style images."""

from pathlib import Path

from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.commands import COMMANDS
from core.errors import InputError
from core.image.feedforward import load_decoder, save_decoder
from core.train.data import Augment, CropStream, load_folder
from core.train.loop import TrainConfig, Trainer, train_decoder, write_loss_log
from core.train.plot import plot_losses

MIN_CROP = 32


def register(subparsers) -> None:
    p = add_command(subparsers, "train-decoder", COMMANDS["train-decoder"].help,
                    description="Train the relu4_1 decoder used by `stylize image --method adain|wct`.\n"
                                "Writes DECODER.safetensors (fp16), DECODER.losses.json, DECODER.losses.png and a\n"
                                "checkpoint .DECODER.safetensors.ckpt beside it (continue with --resume).\n\n"
                                "example: stylize train-decoder --content photos/ --styles paintings/ -o dec.safetensors "
                                "--iters 2000 --crop 192 --batch 4")
    p.add_argument("--content", required=True, metavar="DIR", help="folder of content photos")
    p.add_argument("--styles", required=True, metavar="DIR", help="folder of style images")
    p.add_argument("-o", "--output", required=True, metavar="DECODER.safetensors", help="trained decoder file")
    p.add_argument("--crop", type=int, default=256, help="side of the random square training crops in pixels")
    p.add_argument("--max-side", type=int, default=512, help="images are read with their long side capped here")
    p.add_argument("--scale", type=float, nargs=2, default=(0.5, 1.0), metavar=("MIN", "MAX"),
                   help="random rescale range before cropping")
    p.add_argument("--jitter", type=float, default=0.2,
                   help="colour jitter of content crops: brightness/contrast/saturation factors in [1-J, 1+J]")
    p.add_argument("--init", metavar="DECODER.safetensors", default=None,
                   help="start from this decoder instead of random weights (fine-tuning)")
    p.add_argument("--log-every", type=int, default=10, help="iterations between loss-log entries")
    add_common_options(p, resumable=True)
    add_config_options(p, TrainConfig)
    p.set_defaults(func=run)


def side_paths(output: Path) -> "dict[str, Path]":
    """The files written beside ``output``: checkpoint, loss log and loss curve."""
    stem = output.name.removesuffix(".safetensors")
    return {"checkpoint": output.with_name(f".{output.name}.ckpt"), "log": output.with_name(f"{stem}.losses.json"),
            "curve": output.with_name(f"{stem}.losses.png")}


def run(args) -> int:
    output = Path(args.output)
    if output.suffix != ".safetensors":
        raise InputError(f"output {output} must end in .safetensors")
    if args.crop < MIN_CROP or args.crop % 8:
        raise InputError(f"--crop {args.crop} must be a multiple of 8 and at least {MIN_CROP}")
    if not 0 < args.scale[0] <= args.scale[1]:
        raise InputError(f"--scale {args.scale[0]} {args.scale[1]} must satisfy 0 < MIN <= MAX")
    if not 0 <= args.jitter < 1:
        raise InputError(f"--jitter {args.jitter} must be in [0, 1)")
    if args.max_side < args.crop:
        raise InputError(f"--max-side {args.max_side} must be at least --crop {args.crop}")
    config = config_from_args(TrainConfig, args)
    config.validate()
    paths = side_paths(output)
    if args.resume and not paths["checkpoint"].exists():
        raise InputError(f"--resume: no checkpoint {paths['checkpoint']} to continue from")
    return run_job(args, "train-decoder", lambda job: _train(job, config, output, paths))


def _train(job, config: TrainConfig, output: Path, paths: dict) -> int:
    args, report, device = job.args, job.report, job.device
    with report.phase("load"):
        content_files, contents = load_folder(args.content, "content", args.max_side, args.crop)
        style_files, styles = load_folder(args.styles, "style", args.max_side, args.crop)
        scale = tuple(args.scale)
        content_stream = CropStream(contents, Augment(args.crop, scale, True, args.jitter), seed=args.seed)
        style_stream = CropStream(styles, Augment(args.crop, scale, True, 0.0), seed=args.seed + 1)
        init = load_decoder(args.init) if args.init else None
        trainer = Trainer(content_stream, style_stream, config, device, init=init)
    report.inputs = [str(p) for p in content_files + style_files]
    with report.phase("train"):
        result = train_decoder(trainer, paths["checkpoint"], resume=job.resume, progress=job.progress,
                               log_every=max(1, args.log_every))
    with report.phase("write"):
        save_decoder(result.decoder, output, metadata={"iterations": result.iterations, "crop": args.crop,
                                                       "batch": args.batch, "init": args.init or "random",
                                                       "content_weight": config.content_weight,
                                                       "style_weight": config.style_weight,
                                                       "identity_weight": config.identity_weight,
                                                       "contrastive_weight": config.contrastive_weight})
        write_loss_log(result.log, paths["log"])
        plot_losses(result.log, paths["curve"])
    report.outputs = [str(output), str(paths["log"]), str(paths["curve"])]
    report.set_steps(result.iterations, result.seconds)
    report.metrics = {"iterations": result.iterations, "interrupted": result.interrupted,
                      "first": result.log[0] if result.log else None, "last": result.log[-1] if result.log else None}
    if result.interrupted:
        return job.interrupted(f"stopped at iteration {result.iterations}; wrote the decoder so far to {output}")
    return 0
