"""Video painting: strokes carried along the flow flicker less than painting each frame on its own, a static shot
reuses every stroke, and ``stylize paint VIDEO -o OUT.mp4`` writes frames, SVGs and a report (Ctrl-C keeps the
finished frames)."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from core.video.io import VideoReader, probe_video
from core.video.metrics import warping_errors
from core.video.warp import sample_at
from vector.strokes.curves import Strokes
from vector.strokes.presets import PRESETS
from vector.strokes.video import VideoPainter, VideoPaintConfig, move_strokes

H, W = 48, 64
STYLE = PRESETS["impressionist"].replace(brushes=(6, 3))


def textured_square_clip(frames: int = 8, dx: int = 2) -> list:
    """A 20x20 random-texture square translating ``dx`` px per frame over a vertical blue gradient."""
    g = torch.Generator().manual_seed(1)
    texture = torch.nn.functional.interpolate(torch.rand(1, 3, 10, 10, generator=g), size=(20, 20), mode="bilinear")
    out = []
    for t in range(frames):
        img = torch.tensor([0.2, 0.4, 0.7]).view(1, 3, 1, 1) * (0.7 + 0.3 * torch.linspace(0, 1, H).view(1, 1, H, 1))
        img = img.expand(1, 3, H, W).clone()
        img[..., 14:34, 6 + dx * t:26 + dx * t] = texture
        out.append(img)
    return out


def paint_all(frames, independent: bool) -> list:
    painter = VideoPainter(STYLE, VideoPaintConfig(independent=independent), seed=0)
    return [painter.step(f) for f in frames]


def test_seeded_painting_flickers_less_than_independent_painting():
    frames = textured_square_clip()
    seeded = [r.painting.canvas[None] for r in paint_all(frames, independent=False)]
    independent = [r.painting.canvas[None] for r in paint_all(frames, independent=True)]
    e_seeded = warping_errors(frames, seeded, (1,))[1]["mse"]
    e_independent = warping_errors(frames, independent, (1,))[1]["mse"]
    assert e_seeded < 0.5 * e_independent, (e_seeded, e_independent)


def test_moving_square_reuses_most_strokes_and_repaints_near_it():
    results = paint_all(textured_square_clip(), independent=False)
    assert results[0].reused == 0 and results[0].new > 0
    for r in results[1:]:
        assert r.reused_fraction > 0.5
        assert r.repaint_fraction < 0.7       # the gradient background outside the square is left alone
        assert len(r.painting.strokes) == r.reused + r.new


def test_static_frames_reuse_every_stroke():
    frame = textured_square_clip(1)[0]
    results = paint_all([frame] * 4, independent=False)
    first = results[0].painting
    for r in results[1:]:
        assert r.new == 0 and r.reused == len(first.strokes) and r.reused_fraction == 1.0
        assert float((r.painting.canvas - first.canvas).abs().max()) < 1e-3


def test_independent_mode_reuses_nothing():
    results = paint_all(textured_square_clip(3), independent=True)
    assert [r.reused for r in results] == [0, 0, 0] and all(r.new > 0 for r in results)


def test_sample_at_and_move_strokes_follow_a_constant_flow():
    flow = torch.tensor([3.0, -2.0]).view(1, 2, 1, 1).expand(1, 2, H, W).contiguous()
    ramp = torch.arange(W, dtype=torch.float32).view(1, 1, 1, W).expand(1, 1, H, W)
    assert torch.allclose(sample_at(ramp, torch.tensor([[10.25, 3.0], [0.0, 0.0]]))[:, 0], torch.tensor([10.25, 0.0]))
    points = torch.tensor([[[10.5, 20.5], [18.5, 20.5], [18.5, 20.5]], [[30.5, 10.5], [36.5, 12.5], [40.5, 12.5]]])
    strokes = Strokes(points, torch.tensor([2, 3]), torch.tensor([4.0, 2.0]), torch.rand(2, 3), torch.ones(2),
                      torch.tensor([0, 1]))
    trust = torch.ones(1, 1, H, W)
    moved, kept = move_strokes(strokes, flow, trust, H, W)
    assert kept.tolist() == [True, True]
    assert torch.allclose(moved.points, points + torch.tensor([3.0, -2.0]))
    trust[..., :, 28:] = 0                     # the second stroke lies where the flow check failed
    moved, kept = move_strokes(strokes, flow, trust, H, W)
    assert kept.tolist() == [True, False] and len(moved) == 1
    far = torch.tensor([500.0, 0.0]).view(1, 2, 1, 1).expand(1, 2, H, W).contiguous()
    assert move_strokes(strokes, far, torch.ones(1, 1, H, W), H, W)[1].tolist() == [False, False]  # left the frame


@pytest.fixture
def frames_dir(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(textured_square_clip(4)):
        Image.fromarray((f[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def test_paint_video_writes_video_svg_frames_and_report(tmp_path, frames_dir, capsys):
    out, svgs, report = tmp_path / "painting.mp4", tmp_path / "svg", tmp_path / "r.json"
    code = main(["paint", str(frames_dir), "-o", str(out), "--size", "64", "--brushes", "6,3", "--svg-frames",
                 str(svgs), "--report", str(report), "--quiet", "--fps", "12"])
    assert code == 0
    info = probe_video(out)
    assert (info.width, info.height, info.fps) == (64, 48, 12) and len(list(VideoReader(out))) == 4
    names = sorted(p.name for p in svgs.iterdir())
    assert names == [f"frame_0000{i}.svg" for i in (1, 2, 3, 4)]
    r = json.loads(report.read_text())
    paths = ET.parse(svgs / "frame_00003.svg").getroot().findall(".//{http://www.w3.org/2000/svg}path")
    assert len(paths) == r["sizes"]["strokes_per_frame"][2]
    assert r["sizes"]["frames"] == 4 and r["metrics"]["mode"] == "seeded"
    assert r["metrics"]["reused_per_frame"][0] == 0 and min(r["metrics"]["reused_per_frame"][1:]) > 0
    assert 0.5 < r["metrics"]["reused_fraction"] <= 1
    assert not [p for p in tmp_path.iterdir() if "part" in p.name]


def test_ctrl_c_keeps_the_finished_frames(tmp_path, frames_dir, monkeypatch, capsys):
    out = tmp_path / "painting.mp4"
    real_step = VideoPainter.step

    def interrupt_at_third(self, frame):
        if self.frames_done == 2:
            raise KeyboardInterrupt
        return real_step(self, frame)

    monkeypatch.setattr(VideoPainter, "step", interrupt_at_third)
    assert main(["paint", str(frames_dir), "-o", str(out), "--size", "64", "--brushes", "6,3", "--quiet"]) == 130
    assert "wrote the 2 finished frames" in capsys.readouterr().err
    assert len(list(VideoReader(out))) == 2
    assert not [p for p in tmp_path.iterdir() if "part" in p.name]


def test_interrupted_and_resumed_painting_equals_an_uninterrupted_one(tmp_path, frames_dir, monkeypatch, capsys):
    whole, part = tmp_path / "whole" / "p.mp4", tmp_path / "part" / "p.mp4"
    common = ["--size", "64", "--brushes", "6,3", "--quiet", "--fps", "12"]
    assert main(["paint", str(frames_dir), "-o", str(whole), "--svg-frames", str(whole.parent / "svg")] + common) == 0
    real_step = VideoPainter.step
    calls, armed = [], [True]

    def interrupt_at_third(self, frame):
        calls.append(self.frames_done)
        if armed[0] and self.frames_done == 2:
            raise KeyboardInterrupt
        return real_step(self, frame)

    monkeypatch.setattr(VideoPainter, "step", interrupt_at_third)
    args = ["paint", str(frames_dir), "-o", str(part), "--svg-frames", str(part.parent / "svg")] + common
    assert main(args) == 130
    assert len(list(VideoReader(part))) == 2                       # Ctrl-C: the finished frames are playable
    assert (part.parent / ".p.mp4.frames" / "painter.pt").exists()
    calls.clear()
    armed[0] = False
    report = tmp_path / "r.json"
    assert main(args + ["--resume", "--report", str(report)]) == 0
    assert calls == [2, 3]                                          # painting went on from the third frame
    assert not (part.parent / ".p.mp4.frames").exists()             # a complete run removes its checkpoint
    for a, b in zip(VideoReader(whole), VideoReader(part), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    for i in range(1, 5):
        name = f"svg/frame_0000{i}.svg"
        assert (whole.parent / name).read_text() == (part.parent / name).read_text()
    r = json.loads(report.read_text())
    assert r["metrics"]["frames_resumed"] == 2 and len(r["sizes"]["strokes_per_frame"]) == 4
    assert r["metrics"]["reused_per_frame"][0] == 0 and min(r["metrics"]["reused_per_frame"][1:]) > 0
    armed[0] = True
    assert main(args) == 130                                        # interrupted again; other settings refuse it
    capsys.readouterr()
    assert main([a if a != "6,3" else "8,3" for a in args] + ["--resume"]) == 2
    assert "made with other inputs or settings" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["-o", "p.mp4", "--style", "s.png"], "--style is for still photos"),
    (["-o", "p.mp4", "--timelapse", "t.gif"], "--timelapse is for still photos"),
    (["-o", "p.mp4", "--change-threshold", "-1"], "--change-threshold -1.0 is out of range"),
    (["-o", "p.mp4", "--max-frames", "0"], "--max-frames 0"),
    (["-o", "p.svg"], "is a video; paint it into a video"),
])
def test_bad_video_options_one_line_exit_2_nothing_written(tmp_path, frames_dir, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["paint", str(frames_dir)] + args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
