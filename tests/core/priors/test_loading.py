"""Loading a local diffusers-layout folder offline, and the one-line errors that name what is missing."""

import os
import socket
import sys

import pytest
import torch

from core.errors import ModelError
from core.priors.loading import OFFLINE_SWITCHES, REQUIRED_FILES, load_diffusion_model


def partial_copy(source, target, drop_folder=None, drop_file=None):
    """``target`` with symlinks to ``source``'s parts, leaving out a subfolder or one file of a subfolder."""
    target.mkdir()
    for sub in REQUIRED_FILES:
        if sub == drop_folder:
            continue
        if drop_file and drop_file.split("/")[0] == sub:
            (target / sub).mkdir()
            for item in (source / sub).iterdir():
                if f"{sub}/{item.name}" != drop_file:
                    (target / sub / item.name).symlink_to(item)
        else:
            (target / sub).symlink_to(source / sub)
    return target


def test_loads_saved_tiny_model_frozen_in_float32_without_network(tiny_model_dir, monkeypatch):
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
    for name in OFFLINE_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    model = load_diffusion_model(tiny_model_dir, "cpu")
    assert attempts == []
    assert all(name not in os.environ for name in OFFLINE_SWITCHES)  # switches restored after loading
    assert model.dtype == torch.float32 and model.unet.dtype == torch.float32
    assert not any(p.requires_grad for p in model.unet.parameters()) and not model.unet.training
    assert model.encode_prompts(["a cat", ""]).shape == (2, 16, 32)
    assert (model.vae_factor, model.size_multiple) == (2, 4)
    assert type(model.scheduler).__name__ == "DDIMScheduler"


def test_missing_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_diffusion_model(tmp_path / "nowhere")


@pytest.mark.parametrize("sub", ["unet", "vae", "text_encoder", "tokenizer", "scheduler"])
def test_missing_subfolder_is_named(tiny_model_dir, tmp_path, sub):
    folder = partial_copy(tiny_model_dir, tmp_path / "model", drop_folder=sub)
    with pytest.raises(ModelError, match=f"no '{sub}/' subfolder"):
        load_diffusion_model(folder)


def test_missing_file_is_named(tiny_model_dir, tmp_path):
    folder = partial_copy(tiny_model_dir, tmp_path / "model", drop_file="tokenizer/merges.txt")
    with pytest.raises(ModelError, match="missing tokenizer/merges.txt"):
        load_diffusion_model(folder)


def test_missing_weights_give_one_line_model_error(tiny_model_dir, tmp_path):
    folder = partial_copy(tiny_model_dir, tmp_path / "model", drop_file="unet/diffusion_pytorch_model.safetensors")
    with pytest.raises(ModelError, match="cannot load unet/") as info:
        load_diffusion_model(folder)
    assert "\n" not in str(info.value)


def test_missing_diffusers_names_the_extra(tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # makes `import diffusers` raise ImportError
    with pytest.raises(ModelError, match=r'pip install -e "\.\[diffusion\]"'):
        load_diffusion_model(tiny_model_dir)
