"""Frame stylizers: the feed-forward adapter's pixel refinement (random decoder) and CLI use of adain."""

import pytest
import torch

from core.cli import main
from core.image.feedforward import save_decoder, stylize_feedforward
from core.nn.decoder import Decoder
from core.video.consistency import temporal_loss
from core.video.io import VideoReader
from core.video.stylizers import FeedForwardFrameStylizer, make_frame_stylizer


@pytest.fixture(scope="module")
def decoder_file(tmp_path_factory):
    torch.manual_seed(0)
    return save_decoder(Decoder(), tmp_path_factory.mktemp("decoder") / "random.safetensors")


def test_refinement_reaches_the_closed_form_blend(decoder_file):
    content, style = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    stylizer = make_frame_stylizer("adain", [style], {"decoder": str(decoder_file)})
    assert isinstance(stylizer, FeedForwardFrameStylizer)
    decoded = stylize_feedforward(content, [style], method="adain", decoder_path=decoder_file)
    assert torch.equal(stylizer(content), decoded)
    target = torch.full_like(content, 0.5)
    trust = torch.ones(1, 1, 32, 32)
    # minimising mean(255²(x − d)²) + 3·mean(255²(x − t)²) gives x = (d + 3t) / 4 at every pixel
    refined = stylizer(content, init=content, terms=[lambda x, view: {"t": 3.0 * temporal_loss(x, [target], [trust])}], steps=20)
    assert torch.allclose(refined, (decoded + 3 * target) / 4, atol=2e-3)


def test_cli_runs_adain_with_blend_and_reports_a_missing_decoder(tmp_path, decoder_file, encode_clip, index_frames, capsys):
    from PIL import Image

    clip = encode_clip(tmp_path / "in.mp4", index_frames(3))
    style = tmp_path / "style.png"
    Image.new("RGB", (32, 32), (200, 40, 40)).save(style)
    out = tmp_path / "out.mp4"
    common = [str(clip), str(style), "-o", str(out), "--size", "32", "--quiet", "--device", "cpu", "--method", "adain"]
    assert main(["video", *common, "--decoder", str(decoder_file), "--consistency", "blend"]) == 0
    assert len(list(VideoReader(out))) == 3
    out.unlink()
    assert main(["video", *common, "--decoder", str(tmp_path / "missing.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "style.png"]


def test_fast_frame_stylizer_is_the_fast_image_path_and_the_blend_default():
    from core.image.fast import FastConfig, stylize_fast
    from core.io.images import resize_long_side
    from core.video.stylizers import FastFrameStylizer, default_method

    g = torch.Generator().manual_seed(0)
    content, style = torch.rand(1, 3, 32, 48, generator=g), torch.rand(1, 3, 40, 40, generator=g)
    stylizer = make_frame_stylizer("fast", [style], {})
    assert isinstance(stylizer, FastFrameStylizer)
    side = FastConfig().style_side(48)
    assert side == 48  # the frame's long side (below the 256 px work size)
    assert torch.equal(stylizer(content), stylize_fast(content, resize_long_side(style, side)))
    assert (default_method("blend"), default_method("optimize"), default_method("none")) == ("fast", "gatys", "gatys")
    with pytest.raises(Exception, match="exactly one style"):
        make_frame_stylizer("fast", [style, style], {})
