"""The demo's 2D image section: Gatys and the quick path for each bundled painting, files the gallery links."""

import torch

from core.demo import IMAGE_DEMO_STYLES, image_section
from core.io.images import load_image


def test_image_section_writes_gatys_and_fast_results_that_move_toward_each_style(tmp_path):
    section = image_section(tmp_path, torch.device("cpu"), size=48, steps=1)
    assert len(section.items) == len(IMAGE_DEMO_STYLES)
    content = load_image(tmp_path / "image" / "content.jpg")
    for item in section.items:
        labels = [label for label, _ in item.media]
        assert labels == ["content", "style", "result", "fast"]
        paths = {label: tmp_path / path for label, path in item.media}
        assert all(p.is_file() for p in paths.values())
        style, fast = load_image(paths["style"]), load_image(paths["fast"])
        assert fast.shape == content.shape
        # the quick path starts from the photo recoloured to the style: its mean colour is the style's, not the photo's
        to_style = (fast.mean((2, 3)) - style.mean((2, 3))).abs().max()
        from_photo = (content.mean((2, 3)) - style.mean((2, 3))).abs().max()
        assert to_style < 0.5 * from_photo
        assert "--method fast" in item.caption
