"""InstructPix2Pix edits on a tiny 8-input-channel UNet: what the UNet is fed, the image command, the video
frame stylizer's keyframe schedule and propagation, and the refusals."""

import re

import pytest
import torch

from core.cli import main
from core.errors import ModelError
from core.io.images import load_image, save_image
from core.priors import instruct
from core.priors.instruct import InstructFrameStylizer, instruct_edit
from core.priors.loading import load_diffusion_model
from core.video.consistency import TemporalConsistency, TemporalSettings

INSTRUCTION = "ox"


@pytest.fixture(scope="module")
def ip2p(tiny_ip2p_dir):
    return load_diffusion_model(tiny_ip2p_dir, "cpu", in_channels=8)


def test_unet_sees_the_photo_latents_and_three_guidance_rows(ip2p, images):
    """Rows [text+photo, photo only, neither] (diffusers' order): channels 4-7 hold the photo's VAE latent (mode,
    unscaled) in rows 0-1 and zeros in row 2; the text rows are [instruction, "", ""]."""
    photo = torch.nn.functional.interpolate(images[0], size=(30, 34), mode="bilinear", align_corners=False)
    calls = []
    handle = ip2p.unet.register_forward_pre_hook(
        lambda m, args, kwargs: calls.append((args[0].clone(), kwargs["encoder_hidden_states"].clone())),
        with_kwargs=True)
    try:
        out = instruct_edit(ip2p, photo, INSTRUCTION, steps=3, guidance_scale=5.0, image_guidance_scale=1.5)
    finally:
        handle.remove()
    assert out.shape == (1, 3, 30, 34) and 0 <= out.min() and out.max() <= 1
    assert len(calls) == 3
    working = torch.nn.functional.interpolate(photo, size=(28, 32), mode="bicubic", align_corners=False,
                                              antialias=True).clamp(0, 1)  # rounded down to multiples of 4
    with torch.no_grad():
        photo_latent = ip2p.vae.encode(working * 2 - 1).latent_dist.mode()
    text, empty = ip2p.encode_prompts([INSTRUCTION]), ip2p.encode_prompts([""])
    for sample, states in calls:
        assert sample.shape == (3, 8, 14, 16)
        assert torch.allclose(sample[:2, 4:], photo_latent.expand(2, -1, -1, -1), atol=1e-4)
        assert torch.equal(sample[2, 4:], torch.zeros_like(sample[2, 4:]))
        assert torch.allclose(states, torch.cat([text, empty, empty]), atol=1e-6)


def test_image_instruct_command_matches_the_function(tiny_ip2p_dir, ip2p, images, tmp_path):
    save_image(images[0], tmp_path / "photo.png")
    out = tmp_path / "edit.png"
    assert main(["image", str(tmp_path / "photo.png"), "--instruct", INSTRUCTION, "--model", str(tiny_ip2p_dir),
                 "-o", str(out), "--instruct-steps", "3", "--image-guidance", "1.2", "--guidance", "4",
                 "--size", "32", "--device", "cpu", "--quiet"]) == 0
    expected = instruct_edit(ip2p, load_image(tmp_path / "photo.png"), INSTRUCTION, steps=3, guidance_scale=4.0,
                             image_guidance_scale=1.2, seed=0)
    assert (load_image(out) - expected).abs().max() <= 1 / 255 + 1e-6


def test_text_to_image_model_is_refused_for_instruct(tiny_model_dir, images, tmp_path, capsys):
    save_image(images[0], tmp_path / "photo.png")
    assert main(["image", str(tmp_path / "photo.png"), "--instruct", INSTRUCTION, "--model", str(tiny_model_dir),
                 "-o", str(tmp_path / "x.png"), "--size", "32", "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert re.search("4 input channels, this method needs 8", err) and "\n" not in err
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(ModelError, match="needs 8"):
        load_diffusion_model(tiny_model_dir, in_channels=8)


def frames(count=4, side=32):
    y, x = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    return [torch.stack([(x + 0.05 * i) % 1, y, 0.5 * (x + y)])[None] for i in range(count)]


def test_keyframes_are_edited_and_the_frames_between_follow_the_keyframe_colour_map(monkeypatch):
    """With an edit that is a colour change (x ↦ 0.5·x + 0.25), frames between keyframes get that same change
    from the fitted colour map; only the keyframes (0 and 2 of 4, K = 2) reach the editor."""
    edited = []

    def fake_edit(model, image, instruction, **options):
        edited.append(image)
        return 0.5 * image + 0.25

    monkeypatch.setattr(instruct, "instruct_edit", fake_edit)
    stylizer = InstructFrameStylizer(None, INSTRUCTION, keyframe_every=2)
    clip = frames()
    targets = [stylizer.target(frame) for frame in clip]
    assert len(edited) == 2 and edited[0] is clip[0] and edited[1] is clip[2]
    assert stylizer.keyframes == 2
    for frame, target in zip(clip, targets):
        assert torch.allclose(target, 0.5 * frame + 0.25, atol=2e-3)  # measured 5e-4: the covariance ridge
    assert stylizer.target(clip[3]) is targets[3]  # a second call for the same frame (blend mode) reuses it


def test_temporal_term_pulls_non_keyframes_toward_the_warped_previous_output(monkeypatch):
    """Optimize mode: with a large temporal weight the second frame stays near the warped first output, with none
    it equals its own target. Motion is given (identity flow, full trust) so the test is about the stylizer."""
    monkeypatch.setattr(instruct, "instruct_edit", lambda model, image, instruction, **o: 1.0 - image)
    clip = [frames(1)[0]] * 2
    clip[1] = clip[1].clone()
    clip[1][..., :16] = clip[1][..., :16] * 0.5  # the second frame changes on its left half

    def run(weight):
        stylizer = InstructFrameStylizer(None, INSTRUCTION, keyframe_every=2, refine_steps=10)
        settings = TemporalSettings(mode="optimize", temporal_weight=weight, neighbours=(1,), steps=10)
        still = lambda current, earlier: (torch.zeros(1, 2, 32, 32), torch.ones(1, 1, 32, 32))  # noqa: E731
        outputs = list(TemporalConsistency(stylizer, settings, still).run(clip))
        return outputs, stylizer

    (first, free), stylizer = run(0.0)
    assert torch.allclose(free, stylizer._last[1], atol=2e-3)  # no temporal pull: the colour-mapped target
    (first_tied, tied), _ = run(1e3)
    assert (tied - first_tied).abs().mean() < 0.5 * (free - first).abs().mean()


def test_video_instruct_writes_every_frame(tiny_ip2p_dir, tmp_path):
    source = tmp_path / "frames"
    source.mkdir()
    for i, frame in enumerate(frames(3)):
        save_image(frame, source / f"{i:04d}.png")
    out = tmp_path / "edited"
    assert main(["video", str(source), "--instruct", INSTRUCTION, "--model", str(tiny_ip2p_dir), "-o", str(out),
                 "--instruct-steps", "2", "--keyframe-every", "2", "--steps", "2", "--size", "32",
                 "--device", "cpu", "--quiet"]) == 0
    written = sorted(out.glob("*.png"))
    assert len(written) == 3 and load_image(written[0]).shape == (1, 3, 32, 32)
