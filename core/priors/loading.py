"""Load a Stable-Diffusion-style model from a local folder in diffusers layout, never from the network.

Expected layout (what ``StableDiffusionPipeline.save_pretrained`` writes)::

    MODEL/unet/config.json + weights          MODEL/vae/config.json + weights
    MODEL/text_encoder/config.json + weights  MODEL/tokenizer/vocab.json, merges.txt
    MODEL/scheduler/scheduler_config.json

Precision: float16 on CUDA, float32 on the CPU (override with ``dtype``).
"""

import contextlib
import importlib
import os
from pathlib import Path
from typing import Iterator

import torch

from core.errors import ModelError
from core.priors.model import DiffusionModel

INSTALL_HINT = 'pip install -e ".[diffusion]"'

REQUIRED_FILES = {
    "unet": ("config.json",),
    "vae": ("config.json",),
    "text_encoder": ("config.json",),
    "tokenizer": ("vocab.json", "merges.txt"),
    "scheduler": ("scheduler_config.json",),
}
"""Subfolder → files that must exist in it before any loading is tried."""

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


def check_model_folder(path: "str | os.PathLike") -> Path:
    """Return ``path`` as a Path after checking the diffusers layout; :class:`ModelError` names what is missing."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelError(f"model folder {folder} does not exist (give --model a local Stable Diffusion folder in diffusers layout)")
    if not folder.is_dir():
        raise ModelError(f"--model {folder} is a file; give the folder of a Stable Diffusion model in diffusers layout")
    for sub, files in REQUIRED_FILES.items():
        if not (folder / sub).is_dir():
            raise ModelError(f"model folder {folder} has no '{sub}/' subfolder (expected diffusers layout: "
                             f"{', '.join(s + '/' for s in REQUIRED_FILES)})")
        for name in files:
            if not (folder / sub / name).is_file():
                raise ModelError(f"model folder {folder} is missing {sub}/{name}")
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


def load_diffusion_model(path: "str | os.PathLike", device: "str | torch.device" = "cpu",
                         dtype: "torch.dtype | None" = None):
    """Load UNet, VAE, CLIP text encoder, tokenizer and a DDIM scheduler from a local folder, offline.

    Returns a :class:`core.priors.model.DiffusionModel` in eval mode with frozen weights on ``device``.
    Raises :class:`ModelError` when diffusers is not installed or the folder is incomplete or unreadable.
    """
    require_diffusers()
    folder = check_model_folder(path)
    device = torch.device(device)
    dtype = dtype or default_dtype(device)
    with offline():
        from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        unet = _load_part(UNet2DConditionModel.from_pretrained, folder, "unet", torch_dtype=dtype)
        vae = _load_part(AutoencoderKL.from_pretrained, folder, "vae", torch_dtype=dtype)
        text_encoder = _load_part(CLIPTextModel.from_pretrained, folder, "text_encoder", dtype=dtype)
        tokenizer = _load_part(CLIPTokenizer.from_pretrained, folder, "tokenizer")
        scheduler = _load_part(DDIMScheduler.from_pretrained, folder, "scheduler")
    return DiffusionModel(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                          scheduler=scheduler, device=device, dtype=dtype)


def as_diffusion_model(model_or_path, device: "str | torch.device" = "cpu"):
    """Pass a :class:`DiffusionModel` through unchanged, or load one from a folder path."""
    if isinstance(model_or_path, DiffusionModel):
        return model_or_path
    return load_diffusion_model(model_or_path, device)
