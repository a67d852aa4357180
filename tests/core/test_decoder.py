"""The relu4_1 mirror decoder: layout, padding, upsampling and its safetensors file (round trip, bad files)."""

import json

import pytest
import torch
from safetensors.torch import save_file

from core.errors import ModelError
from core.image.feedforward import DEFAULT_DECODER, load_decoder, save_decoder
from core.nn.decoder import Decoder, expected_shapes, parameter_count


def test_parameter_count_matches_the_adain_decoder():
    decoder = Decoder()
    assert sum(p.numel() for p in decoder.parameters()) == parameter_count() == 3_505_219
    assert set(decoder.flat_state()) == set(expected_shapes())


def test_output_is_eight_times_the_feature_size():
    out = Decoder()(torch.rand(2, 512, 3, 5) * 500)
    assert out.shape == (2, 3, 24, 40)


def test_reflection_padding_keeps_a_constant_input_constant_up_to_the_border():
    # Zero padding would make border pixels differ from the interior; reflection (and nearest upsampling) cannot.
    out = Decoder()(torch.full((1, 512, 4, 4), 300.0))
    assert torch.allclose(out, out[..., 10:11, 10:11].expand_as(out), atol=1e-5)


def test_nearest_upsampling_between_stages():
    # dec4_1 then one 2× upsampling: the first stage's output is piecewise constant on 2×2 blocks.
    decoder = Decoder()
    x = torch.rand(1, 512, 4, 4) * 500
    seen = {}
    decoder.convs["dec3_4"].register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    decoder(x)
    inner = seen["x"][..., 1:-1, 1:-1]  # drop the reflection padding added before dec3_4
    assert torch.equal(inner[..., 0::2, 0::2], inner[..., 1::2, 1::2])


def test_save_load_round_trip_in_fp16(tmp_path):
    decoder = Decoder()
    path = save_decoder(decoder, tmp_path / "d.safetensors", metadata={"iterations": 7})
    loaded = load_decoder(path)
    for key, value in decoder.flat_state().items():
        assert torch.allclose(loaded.flat_state()[key], value.half().float())
    x = torch.rand(1, 512, 3, 3) * 300
    assert torch.allclose(loaded(x), decoder(x), atol=2e-2)
    assert not any(p.requires_grad for p in loaded.parameters())


@pytest.mark.parametrize("case,expect", [
    ("missing", "not found"), ("corrupt", "not a readable safetensors"),
    ("shape", "dec1_1.weight has shape (3, 32, 3, 3), expected (3, 64, 3, 3)"),
    ("keys", "missing ['dec1_1.bias']"),
])
def test_bad_decoder_files_raise_model_error(tmp_path, case, expect):
    path = tmp_path / f"{case}.safetensors"
    state = {k: v.clone() for k, v in Decoder().flat_state().items()}
    if case == "corrupt":
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    elif case == "shape":
        state["dec1_1.weight"] = torch.zeros(3, 32, 3, 3)
        save_file(state, str(path))
    elif case == "keys":
        del state["dec1_1.bias"]
        save_file(state, str(path))
    with pytest.raises(ModelError, match=expect.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_decoder(path)


def test_shipped_decoder_is_fp16_small_and_loads():
    from safetensors import safe_open

    assert DEFAULT_DECODER.is_file()
    assert DEFAULT_DECODER.stat().st_size <= 10 * 1024 * 1024
    with safe_open(str(DEFAULT_DECODER), framework="pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
        meta = f.metadata()
    assert meta["format"] == "stylize-adain-decoder-v1" and json.loads(meta["iterations"]) > 0
    decoder = load_decoder(None)
    assert decoder(torch.rand(1, 512, 2, 2) * 300).shape == (1, 3, 16, 16)
    assert (DEFAULT_DECODER.parent / "MODEL_CARD.md").is_file()
