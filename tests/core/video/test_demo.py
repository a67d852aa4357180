"""The demo section on the bundled clip, shrunk to 3 frames at 32 px and one step."""

import torch

from core.gallery import Section
from core.video import demo
from core.video.io import VideoReader, probe_video


def test_demo_section_writes_side_by_side_video_and_preview(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "FRAMES", 3)
    monkeypatch.setattr(demo, "SIZE", 32)
    monkeypatch.setattr(demo, "STEPS", 1)
    monkeypatch.setattr(demo, "FIRST_STEPS", 1)
    section = demo.demo_section(tmp_path, torch.device("cpu"))
    assert isinstance(section, Section) and len(section.items) == 1
    paths = [tmp_path / rel for _, rel in section.items[0].media]
    assert [p.name for p in paths] == ["side_by_side.mp4", "side_by_side.gif"]
    single = probe_video(tmp_path / "video" / "consistent.mp4")
    both = probe_video(paths[0])
    assert (single.width, single.height) == (32, 18) and (both.width, both.height) == (96, 18)
    assert len(list(VideoReader(paths[1]))) == 3 and "warping error k=1" in section.items[0].caption
