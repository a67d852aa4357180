"""The SVG demo section: files written, items complete (run at a tiny size to stay fast)."""

import torch

from core.gallery import Section
from core.config import replace_fields
from vector import demo
from vector.restyle import RestyleConfig


def test_demo_section_writes_originals_and_restyled_svgs(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_CONFIG", replace_fields(RestyleConfig, size=32, steps=1, crops=0))
    section = demo.demo_section(tmp_path, torch.device("cpu"))
    assert isinstance(section, Section) and len(section.items) == len(demo.DEMO_LOGOS)
    for item in section.items:
        labels = [label for label, _ in item.media]
        assert labels == ["original", "style", "restyled (cairosvg)", "restyled SVG"]
        for _label, rel in item.media:
            assert (tmp_path / rel).stat().st_size > 0
        assert "stylize svg scenes/svg/" in item.caption and " s on cpu" in item.caption
