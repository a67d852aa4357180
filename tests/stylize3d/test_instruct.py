"""``stylize scene --instruct``: the Instruct-GS2GS dataset update on core's driver (a stand-in editor for the
schedule and the pull toward the edits; the tiny InstructPix2Pix model end to end through the command)."""

import json
from dataclasses import replace

import pytest
import torch

from core.cli import main
from core.priors import instruct
from core.stylization import LoopConfig
from stylize3d.camera_paths import path_around
from stylize3d.instruct import EditConfig, instruct_scene
from stylize3d.splats.ply import write_ply
from stylize3d.splats.render import render_all
from stylize3d.scene_style import BACKGROUND, SceneStyleConfig

RED = torch.tensor([0.9, 0.1, 0.1]).view(1, 3, 1, 1)


def test_scheduled_views_are_edited_and_the_scene_moves_toward_them(make_scene, monkeypatch):
    scene = make_scene(n=200, degree=0, seed=3, spread=0.6)
    scene.opacity_logits.fill_(2.0)
    cameras = path_around("orbit", 3, 32, 32, scene=scene)
    calls = []

    def fake_edit(model, render, original, instruction, **options):
        calls.append((render.shape, original.shape, instruction, options["t_range"]))
        return RED.expand_as(render).clone()

    monkeypatch.setattr(instruct, "instruct_edit_from", fake_edit)
    config = replace(SceneStyleConfig(size=32, tv_weight=0.0), loop=LoopConfig(steps=12, optimizer="adam", lr=0.05))
    edit = EditConfig(edit_every=4, edit_noise=(0.3, 0.6))
    result, update = instruct_scene(scene, cameras, model=type("M", (), {"device": torch.device("cpu")})(),
                                    instruction="make it red", config=config, edit=edit, progress=False)
    assert update.history == [(0, 0), (4, 1), (8, 2)]  # cycle: one view every 4 steps
    assert calls[0] == ((1, 3, 32, 32), (1, 3, 32, 32), "make it red", (0.3, 0.6))
    before = render_all(scene, cameras, 32, 32, BACKGROUND, 0).rgb
    after = render_all(result.scene, cameras, 32, 32, BACKGROUND, 0).rgb
    # colour-only training and the white background limit how far it can go: measured 0.81 of the start
    assert (after - RED).abs().mean() < 0.9 * (before - RED).abs().mean()


@pytest.mark.parametrize("kind", ["splats", "field"])
def test_scene_instruct_command_end_to_end(tiny_ip2p, make_scene, tmp_path, kind):
    """Splats (Instruct-GS2GS) and a radiance field (Instruct-NeRF2NeRF) through the same command and update."""
    from stylize3d.fields.grid import new_field
    from stylize3d.representations import load_scene, save_scene

    if kind == "field":
        scene = new_field(-torch.ones(3), torch.ones(3), (5, 5, 5))
        scene.density = torch.randn(scene.density.shape, generator=torch.Generator().manual_seed(2)) * 2 + 9
        name = "s.safetensors"
    else:
        scene, name = make_scene(n=100, degree=0, seed=2, spread=0.6), "s.ply"
    save_scene(scene, tmp_path / name)
    report = tmp_path / "r.json"
    code = main(["scene", str(tmp_path / name), "--instruct", "ox", "--model", str(tiny_ip2p), "-o",
                 str(tmp_path / "out"), "--orbit", "2", "--steps", "3", "--size", "32", "--video-frames", "0",
                 "--edit-every", "2", "--instruct-steps", "2", "--quiet", "--report", str(report)])
    assert code == 0
    data = json.loads(report.read_text())
    assert data["metrics"]["edits"] == [[0, 0], [2, 1]]
    edited = load_scene(tmp_path / "out" / name.replace("s.", "s_stylized."))[0]
    if kind == "field":
        assert torch.equal(edited.density, scene.density) and not torch.equal(edited.colour, scene.colour)
    else:
        assert edited.num_gaussians == 100
    assert (tmp_path / "out" / "views" / "view_00.png").is_file()
    assert not (tmp_path / "out" / ".instruct_targets.pt").exists()


def test_scene_without_style_or_instruct_is_refused(make_scene, tmp_path, capsys):
    write_ply(make_scene(n=20, degree=0, seed=1), tmp_path / "s.ply")
    assert main(["scene", str(tmp_path / "s.ply"), "-o", str(tmp_path / "out"), "--orbit", "2", "--quiet"]) == 2
    assert "give a STYLE_IMAGE, or --instruct" in capsys.readouterr().err
