"""The brush-stroke demo section: every file written, every item complete (tiny sizes)."""

import torch

from core.gallery import Section
from vector.strokes import demo


def test_demo_section_writes_every_picture(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_SIZE", 48)
    monkeypatch.setattr(demo, "DEMO_STYLE_SIZE", 40)
    monkeypatch.setattr(demo, "DEMO_STEPS", 2)
    monkeypatch.setattr(demo, "DEMO_CLIP_SIZE", 48)
    monkeypatch.setattr(demo, "DEMO_CLIP_FRAMES", 3)
    section = demo.demo_section(tmp_path, torch.device("cpu"))
    assert isinstance(section, Section) and [len(i.media) for i in section.items] == [5, 2, 4, 2]
    for item in section.items:
        for _label, rel in item.media:
            assert (tmp_path / rel).stat().st_size > 0
    assert "strokes in" in section.items[0].caption and "style loss" in section.items[2].caption
    assert "carried" in section.items[3].caption and "independent" in section.items[3].caption
