"""The radiance-field demo section's wiring, shrunk to seconds (the real settings take minutes)."""

import torch

import stylize3d.fields.demo as demo
from stylize3d.fields.io import load_field


def test_field_demo_section_writes_the_media_it_lists(tmp_path, monkeypatch):
    for name, value in dict(VIEWS=9, SIZE=32, FIT_STEPS=10, VOXELS=16 ** 3, STYLE_STEPS=1, FRAMES=2,
                            VIDEO_SIZE=24).items():
        monkeypatch.setattr(demo, name, value)
    real_fit = demo.fit_field

    def short_fit(*args, **kwargs):  # a few steps leave the field transparent: make the carved hull opaque
        result = real_fit(*args, **kwargs)
        result.field.density = result.field.density + 20 * result.field.occupancy
        return result

    monkeypatch.setattr(demo, "fit_field", short_fit)
    torch.set_num_threads(2)
    try:
        section = demo.demo_section(tmp_path, torch.device("cpu"))
        assert torch.get_num_threads() == 2  # the section's one thread is given back
    finally:
        torch.set_num_threads(1)
    (item,) = section.items
    assert [label for label, _ in item.media] == ["style", "original field (orbit)", "stylized field (orbit)"]
    for _, rel in item.media:
        assert (tmp_path / rel).stat().st_size > 0
    original = load_field(tmp_path / "fields" / "sample_scene_field.safetensors")
    stylized = load_field(tmp_path / "fields" / "sample_scene_field_stylized.safetensors")
    assert torch.equal(original.density, stylized.density) and not torch.equal(original.colour, stylized.colour)
    assert "held-out PSNR" in item.numbers and "--steps 10" in item.caption and "9 views at 32 px" in item.caption
