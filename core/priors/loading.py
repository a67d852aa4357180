"""Load a Stable-Diffusion-style model from a local folder in diffusers layout, never from the network.

Accepted layouts (what ``StableDiffusionPipeline.save_pretrained`` writes, in any library version)::

    MODEL/unet/config.json + weights          MODEL/vae/config.json + weights
    MODEL/text_encoder/config.json + weights  MODEL/scheduler/scheduler_config.json
    MODEL/tokenizer/tokenizer.json (fast, transformers 5) or vocab.json + merges.txt (slow, transformers 4), or both

Weights: ``*.safetensors`` or ``*.bin``, whole or sharded (``*.index.json``), plain or as the fp16 variant
(``diffusion_pytorch_model.fp16.safetensors``; used when the plain file is absent).

A single-file checkpoint (``MODEL.safetensors`` or ``.ckpt`` in the original LDM key layout) goes through
diffusers' ``from_single_file``. The file holds only weights: the diffusers configs and the CLIP tokenizer's
vocabulary are not in it, so offline it needs ``config=`` a local diffusers folder of the same architecture
(``model_index.json``, every part's config, the tokenizer and scheduler files; its weights are not needed and not
read). ``original_config=`` (the LDM YAML) is not enough offline: diffusers then still fetches the tokenizer
(``openai/clip-vit-large-patch14``) from the Hub. Without ``config`` the load is tried once more with whatever
the local Hugging Face cache holds, and otherwise refused in one line saying so.

Precision: float16 on CUDA, float32 on the CPU (override with ``dtype``).
"""

import contextlib
import importlib
import json
import os
from pathlib import Path
from typing import Iterator

import torch

from core.errors import ModelError
from core.priors.model import DiffusionModel

INSTALL_HINT = 'pip install -e ".[diffusion]"'

REQUIRED_FILES = {
    "unet": (("config.json",),),
    "vae": (("config.json",),),
    "text_encoder": (("config.json",),),
    "tokenizer": (("tokenizer.json",), ("vocab.json", "merges.txt")),
    "scheduler": (("scheduler_config.json",),),
}
"""Subfolder → alternative file sets; one set must exist completely before any loading is tried."""

WEIGHT_STEMS = {"unet": ("diffusion_pytorch_model",), "vae": ("diffusion_pytorch_model",),
                "text_encoder": ("model", "pytorch_model")}
"""Subfolder → weight file stems diffusers/transformers write (``STEM[.VARIANT].safetensors|bin[.index.json]``)."""

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")

OFFLINE_SWITCHES = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Set the huggingface_hub / transformers offline switches for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in OFFLINE_SWITCHES}
    os.environ.update(OFFLINE_SWITCHES)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def require_diffusers() -> None:
    """Raise :class:`ModelError` with the install hint when ``diffusers`` or ``transformers`` is missing."""
    for name in ("diffusers", "transformers"):
        try:
            with offline():
                importlib.import_module(name)
        except ImportError:
            raise ModelError(f"diffusion priors need the '{name}' package: {INSTALL_HINT}") from None


def weights_variant(part: Path, stems) -> "str | None":
    """The weights variant to load from ``part``: None for plain files, ``"fp16"`` when only fp16 files exist.

    Raises :class:`ModelError` naming the expected files when there are no weights at all.
    """
    for variant in (None, "fp16"):
        infix = "" if variant is None else f".{variant}"
        for stem in stems:
            for ext in ("safetensors", "bin"):
                name = f"{stem}{infix}.{ext}"
                if (part / name).is_file() or (part / f"{name}.index.json").is_file():
                    return variant
    raise ModelError(f"model folder {part.parent} is missing {part.name}/ weights "
                     f"({stems[0]}.safetensors or .bin, optionally .fp16 or sharded)")


def check_model_folder(path: "str | os.PathLike") -> Path:
    """Return ``path`` as a Path after checking the diffusers layout; :class:`ModelError` names what is missing."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelError(f"model folder {folder} does not exist (give --model a local Stable Diffusion folder in diffusers layout)")
    if not folder.is_dir():
        raise ModelError(f"--model {folder} is a file; give the folder of a Stable Diffusion model in diffusers layout")
    for sub, alternatives in REQUIRED_FILES.items():
        if not (folder / sub).is_dir():
            raise ModelError(f"model folder {folder} has no '{sub}/' subfolder (expected diffusers layout: "
                             f"{', '.join(s + '/' for s in REQUIRED_FILES)})")
        if not any(all((folder / sub / name).is_file() for name in names) for names in alternatives):
            wanted = " or ".join(" + ".join(f"{sub}/{name}" for name in names) for names in alternatives)
            raise ModelError(f"model folder {folder} is missing {wanted}")
    for sub, stems in WEIGHT_STEMS.items():
        weights_variant(folder / sub, stems)
    return folder


def default_dtype(device: torch.device) -> torch.dtype:
    """float16 on CUDA, float32 elsewhere."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.float32


def _load_part(loader, folder: Path, sub: str, **kwargs):
    """Call ``loader(folder, subfolder=sub, local_files_only=True, ...)``; turn its failures into one-line ModelErrors."""
    try:
        return loader(os.fspath(folder), subfolder=sub, local_files_only=True, **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load {sub}/ from {folder}: {first_line}") from None


def check_config_folder(path: "str | os.PathLike") -> Path:
    """``path`` as a Path after checking it can configure a single-file load: ``model_index.json`` plus every
    part's config and tokenizer files (:data:`REQUIRED_FILES`); weights are not needed."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelError(f"--model-config {folder} is not a folder (give a local diffusers folder of the same "
                         "architecture as the checkpoint)")
    missing = [] if (folder / "model_index.json").is_file() else ["model_index.json"]
    for sub, alternatives in REQUIRED_FILES.items():
        if not any(all((folder / sub / name).is_file() for name in names) for names in alternatives):
            missing.append(" or ".join(" + ".join(f"{sub}/{name}" for name in names) for names in alternatives))
    if missing:
        raise ModelError(f"--model-config {folder} is missing {'; '.join(missing)} (a diffusers folder's configs "
                         "and tokenizer are needed; weights are not)")
    return folder


def load_diffusion_model(path: "str | os.PathLike", device: "str | torch.device" = "cpu",
                         dtype: "torch.dtype | None" = None, in_channels: "int | None" = None,
                         config: "str | os.PathLike | None" = None):
    """Load UNet, VAE, CLIP text encoder, tokenizer and a DDIM scheduler from a local folder, offline.

    ``path``: a diffusers-layout folder (any layout in the module docstring) or a single-file checkpoint;
    ``config``: for a single file, the local diffusers folder whose configs and tokenizer describe it.
    ``in_channels``: the UNet input channels the caller needs (4 for SD, 8 for InstructPix2Pix); None: any.
    Returns a :class:`core.priors.model.DiffusionModel` in eval mode with frozen weights on ``device``.
    Raises :class:`ModelError` when diffusers is not installed or the folder is incomplete or unreadable.
    """
    require_diffusers()
    device = torch.device(device)
    dtype = dtype or default_dtype(device)
    if Path(path).expanduser().is_file() and Path(path).suffix.lower() in SINGLE_FILE_SUFFIXES:
        if config is not None:
            config = check_config_folder(config)
            _check_in_channels(path, _json_field(config / "unet" / "config.json", "in_channels"), in_channels)
        parts = _load_single_file(Path(path).expanduser(), dtype, config)
        _check_in_channels(path, parts["unet"].config.get("in_channels"), in_channels)
    else:
        if config is not None:
            raise ModelError(f"--model-config describes a single-file checkpoint; {path} is not one (.safetensors "
                             "or .ckpt file)")
        folder = check_model_folder(path)
        _check_in_channels(path, _json_field(folder / "unet" / "config.json", "in_channels"), in_channels)
        parts = _load_folder(folder, dtype)
    model = DiffusionModel(**parts, device=device, dtype=dtype)
    # slow tokenizer files without tokenizer_config.json leave model_max_length unset (a huge sentinel)
    model.tokenizer.model_max_length = min(int(model.tokenizer.model_max_length),
                                           int(model.text_encoder.config.max_position_embeddings))
    return model


def _json_field(file: Path, name: str):
    try:
        return json.loads(file.read_text()).get(name)
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"cannot read {file}: {exc}") from None


def _check_in_channels(path, channels, needed: "int | None") -> None:
    """Refuse a UNet whose input channel count is not the one the method needs (before loading any weights)."""
    if needed is not None and channels is not None and int(channels) != needed:
        kind = "an InstructPix2Pix model" if needed == 8 else "a text-to-image Stable Diffusion model"
        raise ModelError(f"{path}: the UNet takes {channels} input channels, this method needs {needed} ({kind})")


def _load_folder(folder: Path, dtype: torch.dtype) -> dict:
    with offline():
        from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        def variant(sub):
            return weights_variant(folder / sub, WEIGHT_STEMS[sub])

        return dict(
            unet=_load_part(UNet2DConditionModel.from_pretrained, folder, "unet", torch_dtype=dtype,
                            variant=variant("unet")),
            vae=_load_part(AutoencoderKL.from_pretrained, folder, "vae", torch_dtype=dtype, variant=variant("vae")),
            text_encoder=_load_part(CLIPTextModel.from_pretrained, folder, "text_encoder", dtype=dtype,
                                    variant=variant("text_encoder")),
            tokenizer=_load_part(CLIPTokenizer.from_pretrained, folder, "tokenizer"),
            scheduler=_load_part(DDIMScheduler.from_pretrained, folder, "scheduler"),
        )


def _load_single_file(file: Path, dtype: torch.dtype, config: "Path | None" = None) -> dict:
    """Parts of a single-file checkpoint through diffusers' ``from_single_file``, offline, configured by the local
    diffusers folder ``config`` (else by what the Hugging Face cache holds)."""
    options = {} if config is None else {"config": os.fspath(config)}
    with offline():
        from diffusers import DDIMScheduler, StableDiffusionPipeline

        try:
            pipe = StableDiffusionPipeline.from_single_file(
                os.fspath(file), torch_dtype=dtype, local_files_only=True, safety_checker=None,
                feature_extractor=None, requires_safety_checker=False, **options)
        except Exception as exc:  # diffusers raises many kinds here (OSError, ValueError, KeyError, its own)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if config is not None:
                raise ModelError(f"cannot load the single-file checkpoint {file} with the configs of {config} "
                                 f"(not the same architecture?); diffusers said: {first[:200]}") from None
            raise ModelError(f"cannot load the single-file checkpoint {file} offline: it holds weights only, and "
                             f"its diffusers configs and CLIP tokenizer are neither given nor in the local Hugging "
                             f"Face cache; pass --model-config FOLDER (a local diffusers folder of the same "
                             f"architecture: configs and tokenizer, weights not needed) or convert it once to a "
                             f"diffusers folder; diffusers said: {first[:200]}") from None
    return dict(unet=pipe.unet, vae=pipe.vae, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer,
                scheduler=DDIMScheduler.from_config(pipe.scheduler.config))


def load_model_option(args, device: "str | torch.device", in_channels: "int | None" = None) -> DiffusionModel:
    """The model of a command's ``--model`` (and ``--model-config``), see :func:`load_diffusion_model`."""
    return load_diffusion_model(args.model, device, in_channels=in_channels,
                                config=getattr(args, "model_config", None))


def pipeline_from(model: DiffusionModel, name: str):
    """The diffusers pipeline ``name`` (e.g. ``"StableDiffusionImg2ImgPipeline"``) around ``model``'s parts, with a
    DDIM scheduler of the model's settings and no safety checker."""
    import diffusers

    with offline():
        return getattr(diffusers, name)(vae=model.vae, text_encoder=model.text_encoder, tokenizer=model.tokenizer,
                                        unet=model.unet, scheduler=diffusers.DDIMScheduler.from_config(
                                            model.scheduler.config),
                                        safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def as_diffusion_model(model_or_path, device: "str | torch.device" = "cpu"):
    """Pass a :class:`DiffusionModel` through unchanged, or load one from a folder path."""
    if isinstance(model_or_path, DiffusionModel):
        return model_or_path
    return load_diffusion_model(model_or_path, device)
