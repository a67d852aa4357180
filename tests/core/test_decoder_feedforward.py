"""``stylize_feedforward`` and ``stylize image --method adain|wct`` with a small random decoder file."""

import json

import pytest
import torch
from PIL import Image

from core.cli import main
from core.colour import luminance_transfer
from core.errors import InputError
from core.image.feedforward import _pad_to_multiple, load_decoder, save_decoder, stylize_feedforward
from core.nn.decoder import Decoder
from core.nn.vgg import load_vgg19


@pytest.fixture
def decoder_file(tmp_path):
    return save_decoder(Decoder(), tmp_path / "dec.safetensors")


def _images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, 37, 45, generator=g), [torch.rand(1, 3, 32, 32, generator=g),
                                                   torch.rand(1, 3, 40, 24, generator=g)]


def test_alpha_zero_decodes_the_content_features_at_the_content_size(decoder_file):
    content, styles = _images()
    out = stylize_feedforward(content, styles[:1], decoder_path=decoder_file, alpha=0.0)
    assert out.shape == content.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    padded = _pad_to_multiple(content, 8)
    assert padded.shape[-2:] == (40, 48)
    expected = load_decoder(decoder_file)(load_vgg19("cpu")(padded, ["relu4_1"])["relu4_1"])[..., :37, :45]
    assert torch.allclose(out, expected.clamp(0, 1), atol=1e-5)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_a_one_level_mask_is_the_first_style_alone(decoder_file, method):
    content, styles = _images()
    mask = torch.full((1, 1, 37, 45), 0.3)
    masked = stylize_feedforward(content, styles, method=method, decoder_path=decoder_file, mask=mask)
    alone = stylize_feedforward(content, styles[:1], method=method, decoder_path=decoder_file)
    assert torch.allclose(masked, alone, atol=1e-5)


def test_preserve_color_is_the_luminance_transfer_of_the_plain_result(decoder_file):
    content, styles = _images()
    plain = stylize_feedforward(content, styles[:1], decoder_path=decoder_file)
    kept = stylize_feedforward(content, styles[:1], decoder_path=decoder_file, preserve_color=True)
    assert torch.allclose(kept, luminance_transfer(plain, content).clamp(0, 1), atol=1e-6)


def test_mask_errors(decoder_file):
    content, styles = _images()
    with pytest.raises(InputError, match="mask size 45x36 does not match the content size 45x37"):
        stylize_feedforward(content, styles, decoder_path=decoder_file, mask=torch.zeros(1, 1, 36, 45))
    three = torch.zeros(1, 1, 37, 45)
    three[..., 10:] = 0.5
    three[..., 20:] = 1.0
    with pytest.raises(InputError, match="3 grey levels"):
        stylize_feedforward(content, styles, decoder_path=decoder_file, mask=three)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_cli_feedforward_writes_output_and_split_timings(tmp_path, content_png, style_png, decoder_file, method):
    out, report = tmp_path / "out.png", tmp_path / "r.json"
    code = main(["image", str(content_png), str(style_png), "-o", str(out), "--method", method, "--decoder",
                 str(decoder_file), "--size", "40", "--alpha", "0.7", "--report", str(report)])
    assert code == 0 and Image.open(out).size == (40, 29)
    data = json.loads(report.read_text())
    assert data["timings"]["load_s"] >= 0 and data["timings"]["stylize_s"] > 0
    assert data["metrics"]["method"] == method and data["metrics"]["alpha"] == 0.7


def _error(capsys, code, expect):
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert expect in err, err


@pytest.mark.parametrize("case,expect", [
    ("corrupt", "not a readable safetensors"), ("shape", "expected (3, 64, 3, 3)"), ("missing", "not found"),
    ("mask_size", "draw the mask at the content's size"), ("labels", "2 grey levels (regions) but only 1"),
    ("alpha", "--alpha 1.5 is out of range"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, content_png, style_png, decoder_file, capsys, case, expect):
    decoder, extra = str(decoder_file), []
    if case == "corrupt":
        decoder = str(tmp_path / "bad.safetensors")
        (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    elif case == "shape":
        from safetensors.torch import save_file

        state = Decoder().flat_state()
        state["dec1_1.weight"] = torch.zeros(3, 8, 3, 3)
        decoder = str(tmp_path / "shape.safetensors")
        save_file(state, decoder)
    elif case == "missing":
        decoder = str(tmp_path / "none.safetensors")
    elif case == "mask_size":
        Image.new("L", (30, 20), 0).save(tmp_path / "m.png")
        extra = ["--mask", str(tmp_path / "m.png")]
    elif case == "labels":
        mask = Image.new("L", (56, 40), 0)
        mask.paste(255, (28, 0, 56, 40))
        mask.save(tmp_path / "m.png")
        extra = ["--mask", str(tmp_path / "m.png")]
    elif case == "alpha":
        extra = ["--alpha", "1.5"]
    code = main(["image", str(content_png), str(style_png), "-o", str(tmp_path / "o.png"), "--method", "adain",
                 "--decoder", decoder, "--size", "32", *extra])
    _error(capsys, code, expect)
    assert not (tmp_path / "o.png").exists()
