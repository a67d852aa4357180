"""``core.stylize_video``: the library call on the frame loop of ``stylize video`` (tiny clips, CPU)."""

import numpy as np
import pytest
import torch

from core import stylize_video
from core.errors import InputError
from core.io.images import load_image
from core.metrics import style_distance
from core.video.frame_loop import checkpoint_dir
from core.video.io import VideoReader, probe_video
from core.video.stylize import VideoResult


@pytest.fixture
def style(tmp_path):
    from PIL import Image

    path = tmp_path / "style.png"
    stripes = np.zeros((32, 32, 3), np.uint8)
    stripes[::4] = (230, 120, 20)
    stripes[:, ::4] = (20, 60, 230)
    Image.fromarray(stripes).save(path)
    return path


def test_stylize_video_writes_every_frame_at_the_size_and_moves_the_style(tmp_path, encode_clip, index_frames, style):
    clip = encode_clip(tmp_path / "in.mp4", index_frames(4), audio_seconds=0.4)
    out = tmp_path / "out.mp4"
    result = stylize_video(clip, style, out, size=32, steps=4, first_steps=8)
    assert isinstance(result, VideoResult) and result.output == out and not result.interrupted
    assert (result.frames, result.frames_stylized, result.width, result.height) == (4, 4, 32, 24)
    info = probe_video(out)
    assert (info.width, info.height, info.has_audio) == (32, 24, True)
    frames = list(VideoReader(out))
    originals = list(VideoReader(clip, long_side=32))
    assert len(frames) == 4
    target = load_image(style)
    before = np.mean([style_distance(f, target, 32) for f in originals])
    after = np.mean([style_distance(f, target, 32) for f in frames])
    assert after < 0.75 * before  # measured 0.54
    assert not checkpoint_dir(out).exists()


def test_a_tensor_style_into_a_folder_of_frames(tmp_path, encode_clip, index_frames):
    clip = encode_clip(tmp_path / "in.mp4", index_frames(3))
    style = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    result = stylize_video(clip, style, tmp_path / "frames", method="adain", size=32, consistency="blend",
                           max_frames=2)
    assert result.frames == 2 and sorted(p.name for p in (tmp_path / "frames").iterdir()) == [
        "frame_00001.png", "frame_00002.png"]
    assert result.metrics()["frames_stylized"] == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "pix2pix"}, "unknown method"),
    ({"steps": 0}, "at least 1"),
    ({"alpha": 2.0}, "alpha 2.0"),
    ({"consistency": "sometimes"}, "unknown consistency mode"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, encode_clip, index_frames, style, kwargs,
                                                              message):
    clip = encode_clip(tmp_path / "in.mp4", index_frames(2))
    with pytest.raises(InputError, match=message):
        stylize_video(clip, style, tmp_path / "out.mp4", size=32, **kwargs)
    with pytest.raises(InputError, match="must end in"):
        stylize_video(clip, style, tmp_path / "out.avi", size=32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "style.png"]
