"""Streamed video I/O: round trips, trimming, resizing, audio passthrough, GIF/folders, bad input."""

from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import InputError
from core.video import io as vio
from core.video.io import VideoReader, VideoWriter, probe_video, working_size


def gray_level(frame: torch.Tensor) -> float:
    """Mean of the bottom rows (the moving square never reaches them), in 0..255."""
    return float(frame[0, :, 30:, :].mean() * 255)


def test_probe_reports_size_rate_count(clip):
    info = probe_video(clip)
    assert (info.width, info.height, info.fps, info.frame_count, info.has_audio) == (64, 48, Fraction(10), 20, False)
    assert info.duration_s == pytest.approx(2.0, abs=0.01)


def test_reader_yields_frames_in_order(clip):
    levels = [gray_level(f) for f in VideoReader(clip)]
    assert len(levels) == 20
    assert levels == pytest.approx([8 * i + 16 for i in range(20)], abs=3)


def test_start_end_and_max_frames_select_the_right_frames(clip):
    levels = [gray_level(f) for f in VideoReader(clip, start=1.0, end=1.5)]
    assert levels == pytest.approx([8 * i + 16 for i in range(10, 15)], abs=3)
    assert len(list(VideoReader(clip, start=0.5, max_frames=3))) == 3


def test_start_past_end_is_refused(clip):
    with pytest.raises(InputError, match="past the end"):
        VideoReader(clip, start=5.0)


def test_writer_round_trip_keeps_count_size_rate_and_pixels(tmp_path, index_frames):
    frames = [torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255 for f in index_frames(12)]
    out = tmp_path / "out.mp4"
    with VideoWriter(out, 64, 48, Fraction(12)) as writer:
        for frame in frames:
            writer.write(frame)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
    back = list(VideoReader(out))
    info = probe_video(out)
    assert (len(back), info.width, info.height, info.fps) == (12, 64, 48, Fraction(12))
    error = torch.stack([(a - b).abs().mean() for a, b in zip(back, frames)])
    assert float(error.max()) < 0.02


def test_working_size_is_even_and_follows_long_side():
    assert working_size(161, 121) == (160, 120)
    assert working_size(163, 99) == (164, 100)
    assert working_size(640, 360, long_side=256) == (256, 144)
    assert working_size(360, 640, long_side=100) == (56, 100)


def test_huge_input_is_downscaled_with_a_notice(monkeypatch, capsys):
    monkeypatch.setattr(vio, "MAX_LONG_SIDE", 32)
    assert working_size(64, 48) == (32, 24)
    assert "notice: input is 64x48; downscaled to 32 px" in capsys.readouterr().err
    assert working_size(64, 48, max_long_side=64) == (64, 48)


def test_odd_sized_gif_is_read_at_even_size_and_its_rate(tmp_path, index_frames):
    path = tmp_path / "odd.gif"
    images = [Image.fromarray(f[:47, :63]) for f in index_frames(6)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    frames = list(VideoReader(path))
    assert len(frames) == 6
    assert frames[0].shape[-2] % 2 == 0 and frames[0].shape[-1] % 2 == 0
    assert probe_video(path).fps == Fraction(10)


def test_image_folder_round_trip_is_lossless(tmp_path, index_frames):
    frames = [torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255 for f in index_frames(4)]
    with VideoWriter(tmp_path / "seq", 64, 48, Fraction(24)) as writer:
        for frame in frames:
            writer.write(frame)
    assert sorted(p.name for p in (tmp_path / "seq").iterdir())[0] == "frame_00001.png"
    back = list(VideoReader(tmp_path / "seq"))
    assert len(back) == 4 and all(torch.equal(a, b) for a, b in zip(back, frames))


def test_audio_is_copied_and_trimmed_to_the_video(tmp_path, encode_clip, index_frames, audio_seconds_in):
    source = encode_clip(tmp_path / "with_audio.mp4", index_frames(20), audio_seconds=2.0)
    assert probe_video(source).has_audio
    reader = VideoReader(source, start=0.5, max_frames=10)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, *reader.size, reader.fps, audio_from=source, audio_start=0.5) as writer:
        for frame in reader:
            writer.write(frame)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    assert audio_seconds_in(out) == pytest.approx(1.0, abs=0.05)


def test_variable_frame_rate_is_resampled_with_a_notice(tmp_path, encode_clip, index_frames, capsys):
    frames = index_frames(5)
    path = encode_clip(tmp_path / "vfr.mkv", frames, fps=10, pts=[0, 1, 2, 4, 5])
    levels = [gray_level(f) for f in VideoReader(path)]
    assert "variable frame rate" in capsys.readouterr().err
    # the frame shown at t=0.3 s is still frame 2: it is repeated
    assert levels == pytest.approx([16, 24, 32, 32, 40, 48], abs=3)


def test_corrupt_truncated_and_streamless_files_are_input_errors(tmp_path, clip, audio_only):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    for path, message in ((garbage, "cannot read video"), (truncated, "truncated or corrupt"),
                          (audio_only, "no video stream"), (tmp_path / "missing.mp4", "not found")):
        with pytest.raises(InputError, match=message):
            list(VideoReader(path))


def test_zero_frames_are_input_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="zero frames"):
        VideoReader(tmp_path / "empty")
    for suffix in (".mp4", ".mkv"):
        empty_video = tmp_path / f"empty{suffix}"
        with av.open(str(empty_video), "w") as out:
            stream = out.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            out.start_encoding()
        with pytest.raises(InputError, match="zero frames|no video stream|cannot read video"):
            list(VideoReader(empty_video))


def test_reading_is_streamed_up_to_a_truncation(tmp_path, encode_clip, index_frames):
    path = encode_clip(tmp_path / "long.mkv", index_frames(20) * 3)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    first = next(iter(VideoReader(cut)))  # frames arrive before the decoder reaches the damage
    assert gray_level(first) == pytest.approx(16, abs=3)
    assert 10 <= len(list(VideoReader(cut))) < 60


@pytest.mark.parametrize("suffix,codec,pix_fmt", [(".webm", "libvpx-vp9", "yuv420p"), (".avi", "mpeg4", "yuv420p"),
                                                  (".mov", "libx264", "yuv420p"), (".avi", "mjpeg", "yuvj420p")])
def test_common_containers_are_read(tmp_path, encode_clip, index_frames, suffix, codec, pix_fmt):
    path = encode_clip(tmp_path / f"clip{suffix}", index_frames(6), codec=codec, pix_fmt=pix_fmt)
    levels = [gray_level(f) for f in VideoReader(path)]
    assert levels == pytest.approx([8 * i + 16 for i in range(6)], abs=4)
