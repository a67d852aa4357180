"""The demo section's wiring, shrunk to seconds (the real settings take minutes)."""

import torch

import stylize3d.demo as demo


def test_demo_section_writes_the_media_it_lists(tmp_path, monkeypatch):
    for name, value in dict(TRAIN_SIZE=32, VIDEO_SIZE=32, STEPS=1, TRAIN_VIEWS=3, FRAMES=3).items():
        monkeypatch.setattr(demo, name, value)
    section = demo.demo_section(tmp_path, torch.device("cpu"))
    (item,) = section.items
    assert [label for label, _ in item.media] == ["style", "original (preview)", "original (MP4)",
                                                  "stylized (preview)", "stylized (MP4)"]
    for _, rel in item.media:
        assert (tmp_path / rel).stat().st_size > 0
    assert (tmp_path / "stylize3d" / "sample_scene_stylized.ply").exists()
    assert "reprojection RMSE k=1" in item.caption


def test_demo_section_restores_the_thread_count(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "_stylized_orbits", lambda out_dir, device: torch.get_num_threads())
    torch.set_num_threads(2)
    try:
        assert demo.demo_section(tmp_path, torch.device("cpu")) == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
