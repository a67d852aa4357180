"""Loading a local diffusers-layout folder offline in every layout the libraries write, and the one-line errors
that name what is missing."""

import os
import socket
import sys

import pytest
import torch

from core.errors import ModelError
from core.priors.loading import OFFLINE_SWITCHES, REQUIRED_FILES, load_diffusion_model

from .conftest import build_tiny_model
from .ldm_checkpoint import write_single_file


def partial_copy(source, target, drop_folder=None, drop_files=()):
    """``target`` with symlinks to ``source``'s parts, leaving out a subfolder or some files of subfolders."""
    target.mkdir()
    drop_subs = {name.split("/")[0] for name in drop_files}
    for sub in REQUIRED_FILES:
        if sub == drop_folder:
            continue
        if sub in drop_subs:
            (target / sub).mkdir()
            for item in (source / sub).iterdir():
                if f"{sub}/{item.name}" not in drop_files:
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


LAYOUTS = {
    "fp16 variant": dict(variant="fp16"),
    "pickle .bin": dict(safe_serialization=False),
    "slow tokenizer": dict(tokenizer="slow"),
    "both tokenizers": dict(tokenizer="both"),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_save_pretrained_writes_loads_the_same_model(tiny_model_dir, tiny_model, tmp_path, layout):
    """The same components saved in another layout give the same prompt embeddings and UNet output."""
    folder = tmp_path / "model"
    build_tiny_model(folder, **LAYOUTS[layout])
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    expected_file = {"fp16 variant": "unet/diffusion_pytorch_model.fp16.safetensors",
                     "pickle .bin": "unet/diffusion_pytorch_model.bin",
                     "slow tokenizer": "tokenizer/merges.txt", "both tokenizers": "tokenizer/tokenizer.json"}[layout]
    assert expected_file in names  # the layout under test is really the one written
    model = load_diffusion_model(folder, "cpu")
    prompts = ["a cat", "zebra"]
    ids = model.tokenizer(prompts, padding="max_length", max_length=16, return_tensors="pt").input_ids
    reference_ids = tiny_model.tokenizer(prompts, padding="max_length", max_length=16, return_tensors="pt").input_ids
    assert torch.equal(ids, reference_ids) and model.tokenizer.model_max_length == 16
    latents = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model.unet(latents, 301, encoder_hidden_states=model.encode_prompts(["a cat"])).sample
        ref = tiny_model.unet(latents, 301, encoder_hidden_states=tiny_model.encode_prompts(["a cat"])).sample
    tolerance = 2e-2 if layout == "fp16 variant" else 1e-5  # fp16 weights keep about 3 significant digits
    assert (out - ref).abs().max() <= tolerance * ref.abs().max()


def test_missing_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_diffusion_model(tmp_path / "nowhere")


@pytest.mark.parametrize("sub", ["unet", "vae", "text_encoder", "tokenizer", "scheduler"])
def test_missing_subfolder_is_named(tiny_model_dir, tmp_path, sub):
    folder = partial_copy(tiny_model_dir, tmp_path / "model", drop_folder=sub)
    with pytest.raises(ModelError, match=f"no '{sub}/' subfolder"):
        load_diffusion_model(folder)


def test_missing_tokenizer_files_name_both_layouts(tiny_model_dir, tmp_path):
    folder = partial_copy(tiny_model_dir, tmp_path / "model", drop_files=("tokenizer/tokenizer.json",))
    with pytest.raises(ModelError, match=r"missing tokenizer/tokenizer.json or tokenizer/vocab.json \+ "
                                         r"tokenizer/merges.txt"):
        load_diffusion_model(folder)


def test_missing_weights_are_named_in_one_line(tiny_model_dir, tmp_path):
    folder = partial_copy(tiny_model_dir, tmp_path / "model", drop_files=("unet/diffusion_pytorch_model.safetensors",))
    with pytest.raises(ModelError, match=r"missing unet/ weights \(diffusion_pytorch_model.safetensors or .bin"):
        load_diffusion_model(folder)


def test_unreadable_weights_give_one_line_model_error(tiny_model_dir, tmp_path):
    folder = partial_copy(tiny_model_dir, tmp_path / "model", drop_files=("vae/diffusion_pytorch_model.safetensors",))
    (folder / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot load vae/") as info:
        load_diffusion_model(folder)
    assert "\n" not in str(info.value)


def config_only_copy(source, target):
    """``source``'s model_index.json, configs, tokenizer and scheduler files without any weights."""
    for item in source.rglob("*"):
        if item.is_file() and not item.name.endswith((".safetensors", ".bin")):
            (target / item.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (target / item.relative_to(source)).write_bytes(item.read_bytes())
    return target


@pytest.fixture(scope="module")
def single_file(tiny_model, tmp_path_factory):
    """The tiny model written as one LDM-layout .safetensors file and a weightless config folder beside it."""
    root = tmp_path_factory.mktemp("single_file")
    write_single_file(tiny_model, root / "tiny_sd.safetensors")
    return root / "tiny_sd.safetensors"


def test_single_file_checkpoint_loads_offline_with_a_config_folder(tiny_model_dir, tiny_model, single_file, tmp_path,
                                                                   monkeypatch):
    config = config_only_copy(tiny_model_dir, tmp_path / "configs")
    assert not list(config.rglob("*.safetensors"))  # the weights can only come from the single file
    attempts = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
    model = load_diffusion_model(single_file, "cpu", config=config)
    assert attempts == []
    for part in ("unet", "vae", "text_encoder"):
        loaded, source = getattr(model, part).state_dict(), getattr(tiny_model, part).state_dict()
        assert loaded.keys() == source.keys()
        assert all(torch.equal(loaded[k], source[k]) for k in source), part
    latents = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model.unet(latents, 301, encoder_hidden_states=model.encode_prompts(["a cat"])).sample
        ref = tiny_model.unet(latents, 301, encoder_hidden_states=tiny_model.encode_prompts(["a cat"])).sample
        images = model.decode_latents(latents), tiny_model.decode_latents(latents)
    assert torch.equal(out, ref) and torch.equal(*images)
    assert model.scheduler.config.steps_offset == tiny_model.scheduler.config.steps_offset == 1


def test_single_file_config_folder_must_hold_configs_and_tokenizer(tiny_model_dir, single_file, tmp_path):
    config = config_only_copy(tiny_model_dir, tmp_path / "configs")
    (config / "tokenizer" / "tokenizer.json").unlink()
    (config / "model_index.json").unlink()
    with pytest.raises(ModelError, match=r"--model-config .* is missing model_index.json; tokenizer/tokenizer.json "
                                         r"or tokenizer/vocab.json \+ tokenizer/merges.txt"):
        load_diffusion_model(single_file, config=config)
    with pytest.raises(ModelError, match="describes a single-file checkpoint"):
        load_diffusion_model(tiny_model_dir, config=config)


def test_single_file_with_another_architecture_is_refused_in_one_line(tiny_ip2p_dir, single_file):
    with pytest.raises(ModelError, match="4 input channels|not the same architecture") as info:
        load_diffusion_model(single_file, config=tiny_ip2p_dir)
    assert "\n" not in str(info.value)


def test_single_file_instruct_command(tiny_ip2p_dir, images, tmp_path):
    from core.io.images import save_image
    from core.priors.loading import load_diffusion_model as load

    write_single_file(load(tiny_ip2p_dir, "cpu", in_channels=8), tmp_path / "ip2p.safetensors")
    save_image(images[0], tmp_path / "photo.png")
    args = ["image", str(tmp_path / "photo.png"), "--instruct", "ox", "--size", "32", "--instruct-steps", "2",
            "--device", "cpu", "--quiet"]
    from core.cli import main

    assert main(args + ["--model", str(tiny_ip2p_dir), "-o", str(tmp_path / "a.png")]) == 0
    assert main(args + ["--model", str(tmp_path / "ip2p.safetensors"), "--model-config", str(tiny_ip2p_dir),
                        "-o", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_single_file_checkpoint_that_cannot_load_offline_says_so(tmp_path):
    from safetensors.torch import save_file

    file = tmp_path / "model.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(4, 4, 3, 3)}, str(file))
    with pytest.raises(ModelError, match="cannot load the single-file checkpoint .* offline") as info:
        load_diffusion_model(file)
    assert "\n" not in str(info.value) and "--model-config FOLDER" in str(info.value)


def test_wrong_unet_channels_are_named(tiny_model_dir):
    with pytest.raises(ModelError, match="4 input channels, this method needs 8 .an InstructPix2Pix model"):
        load_diffusion_model(tiny_model_dir, in_channels=8)


def test_missing_diffusers_names_the_extra(tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # makes `import diffusers` raise ImportError
    with pytest.raises(ModelError, match=r'pip install -e "\.\[diffusion\]"'):
        load_diffusion_model(tiny_model_dir)
