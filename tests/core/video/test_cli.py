"""``stylize video`` / ``stylize metrics-video`` end to end on tiny clips (in-process, 1 optimisation step)."""

import json

import numpy as np
import pytest

from core.cli import main
from core.video import cli as video_cli
from core.video.consistency import TemporalConsistency
from core.video.io import VideoReader, probe_video

FAST = ["--size", "32", "--steps", "1", "--first-steps", "1", "--quiet", "--device", "cpu"]


@pytest.fixture
def style(tmp_path):
    from PIL import Image

    path = tmp_path / "style.png"
    stripes = np.zeros((32, 32, 3), np.uint8)
    stripes[::4] = (230, 120, 20)
    Image.fromarray(stripes).save(path)
    return path


@pytest.fixture
def clip4(tmp_path, encode_clip, index_frames):
    return encode_clip(tmp_path / "in.mp4", index_frames(4), audio_seconds=0.4)


def leftovers(folder):
    """Temporary or checkpoint files a failed run must not leave behind."""
    return sorted(p.name for p in folder.iterdir() if "part" in p.name)


def test_video_writes_h264_with_audio_and_report(tmp_path, clip4, style, capsys):
    out, report = tmp_path / "out.mp4", tmp_path / "report.json"
    assert main(["video", str(clip4), str(style), "-o", str(out), *FAST, "--report", str(report)]) == 0
    info = probe_video(out)
    assert (info.width, info.height, info.fps, info.has_audio) == (32, 24, 10, True)
    assert len(list(VideoReader(out))) == 4
    data = json.loads(report.read_text())
    assert data["command"] == "video" and data["metrics"]["frames_stylized"] == 4
    assert data["sizes"]["output"]["frames"] == 4
    assert not (tmp_path / ".out.mp4.frames").exists() and leftovers(tmp_path) == []


def test_ctrl_c_leaves_a_playable_partial_and_resume_finishes(tmp_path, clip4, style, monkeypatch, capsys):
    out = tmp_path / "out.mp4"
    real_step = TemporalConsistency.step
    calls = []

    def interrupt_at_third(self, frame):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(self, frame)

    monkeypatch.setattr(TemporalConsistency, "step", interrupt_at_third)
    assert main(["video", str(clip4), str(style), "-o", str(out), *FAST]) == 130
    assert "wrote the 2 finished frames" in capsys.readouterr().err
    partial = list(VideoReader(out))
    assert len(partial) == 2 and probe_video(out).has_audio
    assert sorted(p.name for p in (tmp_path / ".out.mp4.frames").iterdir())[:2] == ["frame_00001.png", "frame_00002.png"]

    calls.clear()
    monkeypatch.setattr(TemporalConsistency, "step", lambda self, frame: (calls.append(1), real_step(self, frame))[1])
    assert main(["video", str(clip4), str(style), "-o", str(out), *FAST, "--resume"]) == 0
    finished = list(VideoReader(out))
    assert len(calls) == 2 and len(finished) == 4  # only the two missing frames were stylized
    assert float((finished[0] - partial[0]).abs().mean()) < 0.02
    assert not (tmp_path / ".out.mp4.frames").exists()


def test_resume_refuses_a_checkpoint_made_with_other_settings(tmp_path, clip4, style, monkeypatch, capsys):
    out = tmp_path / "out.mp4"
    monkeypatch.setattr(TemporalConsistency, "step", lambda self, frame: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["video", str(clip4), str(style), "-o", str(out), *FAST]) == 130
    assert not out.exists()  # nothing finished: nothing written
    assert main(["video", str(clip4), str(style), "-o", str(out), *FAST, "--resume", "--temporal-weight", "5"]) == 2
    assert "other inputs or settings" in capsys.readouterr().err


def test_odd_sized_gif_to_folder_and_gif(tmp_path, style, index_frames):
    from PIL import Image

    gif = tmp_path / "odd.gif"
    images = [Image.fromarray(f[:47, :63]) for f in index_frames(3)]
    images[0].save(gif, save_all=True, append_images=images[1:], duration=100, loop=0)
    assert main(["video", str(gif), str(style), "-o", str(tmp_path / "frames"), *FAST, "--consistency", "blend"]) == 0
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [f"frame_0000{i}.png" for i in (1, 2, 3)]
    assert main(["video", str(gif), str(style), "-o", str(tmp_path / "out.gif"), *FAST, "--consistency", "none"]) == 0
    assert len(list(VideoReader(tmp_path / "out.gif"))) == 3
    assert main(["video", str(tmp_path / "frames"), str(style), "-o", str(tmp_path / "again.mp4"), *FAST,
                 "--consistency", "none", "--fps", "12"]) == 0
    assert probe_video(tmp_path / "again.mp4").fps == 12


def test_large_input_is_downscaled_with_a_notice(tmp_path, clip4, style, monkeypatch, capsys):
    monkeypatch.setattr(video_cli, "DEFAULT_LONG_SIDE", 32)
    out = tmp_path / "out.mp4"
    fast_without_size = FAST[2:]
    assert main(["video", str(clip4), str(style), "-o", str(out), *fast_without_size, "--max-frames", "1"]) == 0
    assert "notice: input is 64x48; downscaled to 32 px" in capsys.readouterr().err
    assert (probe_video(out).width, probe_video(out).height) == (32, 24)


def _bad_inputs(tmp_path, clip4, style, audio_only):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(range(256)) * 16)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip4.read_bytes()[:2000])
    (tmp_path / "empty").mkdir()
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "f1.png").write_bytes(style.read_bytes())
    return [
        ([str(garbage), str(style)], "cannot read video"),
        ([str(truncated), str(style)], "truncated or corrupt"),
        ([str(audio_only), str(style)], "no video stream"),
        ([str(tmp_path / "empty"), str(style)], "zero frames"),
        ([str(clip4), str(style), "--start", "9"], "past the end"),
        ([str(clip4), str(tmp_path / "nostyle.png")], "not found"),
        ([str(clip4), str(style), "--steps", "0"], "at least 1"),
        ([str(tmp_path / "one"), str(style), "--fps", "0"], "must be positive"),
    ]


def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, clip4, style, audio_only, capsys):
    out = tmp_path / "out.mp4"
    for argv, message in _bad_inputs(tmp_path, clip4, style, audio_only):
        assert main(["video", *argv[:2], "-o", str(out), *FAST, *argv[2:]]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
        assert not out.exists() and leftovers(tmp_path) == [] and not (tmp_path / ".out.mp4.frames").exists()
    assert main(["video", str(clip4), str(style), "-o", str(tmp_path / "out.avi"), *FAST]) == 2
    assert main(["video", str(clip4), str(style), "-o", str(clip4), *FAST]) == 2
    assert "also an input" in capsys.readouterr().err


def test_metrics_video_separates_steady_from_flickering(tmp_path, clip4, style, capsys):
    frames = list(VideoReader(clip4))
    flicker = tmp_path / "flicker"
    flicker.mkdir()
    from core.io.images import save_image

    for i, frame in enumerate(frames):
        save_image(0.5 * frame + (0.4 if i % 2 else 0.1), flicker / f"f{i}.png")  # brightness jumps by 0.3
    results = {}
    for name, stylized, extra in (("steady", clip4, ["--style", str(style)]), ("flicker", flicker, [])):
        assert main(["metrics-video", str(clip4), str(stylized), "--range", "1,2", "--device", "cpu", *extra]) == 0
        results[name] = json.loads(capsys.readouterr().out)
    assert results["steady"]["warping_error"]["1"]["pairs"] == 3 and results["steady"]["frames"] == 4
    assert results["flicker"]["warping_error"]["1"]["mse"] > 20 * results["steady"]["warping_error"]["1"]["mse"]
    assert results["flicker"]["warping_error"]["1"]["mse"] == pytest.approx(0.09, rel=0.1)
    assert isinstance(results["steady"]["style_distance"], float) and results["flicker"]["style_distance"] is None
    assert main(["metrics-video", str(clip4), str(clip4), "--range", "0,x"]) == 2
