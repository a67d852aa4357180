"""``stylize view`` without a browser: camera conversion, the wipe, saved paths into ``stylize render --path``,
bad input (port in use, unreadable scene, scenes whose boxes do not overlap), the representation interface."""

import dataclasses
import math
import socket
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from stylize3d.camera_paths import read_camera_path
from stylize3d.cameras import look_at
from stylize3d.splats.ply import write_ply
from stylize3d.splats.render import render
from stylize3d.viewer.app import Viewer, ViewerOptions, compose_wipe, size_for_aspect
from stylize3d.viewer.cameras import camera_from_viser, viser_pose
from stylize3d.viewer.shown_scene import BrowserSplats, ServerRendered, boxes_overlap
from tests.stylize3d.conftest import random_scene


def test_identity_pose_projects_the_point_ahead_to_the_centre():
    cam = camera_from_viser((1.0, 0, 0, 0), (1.0, 2.0, 3.0), math.radians(90), 64, 48)
    point = torch.tensor([1.0, 2.0, 13.0, 1.0])
    x_cam = cam.viewmats[0] @ point
    assert torch.allclose(x_cam, torch.tensor([0.0, 0.0, 10.0, 1.0]))
    uvw = cam.Ks[0] @ x_cam[:3]
    assert torch.allclose(uvw[:2] / uvw[2], torch.tensor([32.0, 24.0]))
    assert float(cam.Ks[0, 1, 1]) == pytest.approx(24.0)  # fy = (H/2) / tan(fov_y/2) with fov_y = 90 degrees


def test_viser_pose_matches_viser_and_round_trips():
    import viser.transforms as vtf

    eye = torch.tensor([[2.0, -3.0, 1.5]])
    viewmat = look_at(eye, torch.tensor([0.2, 0.1, 0.3]), torch.tensor([0.0, 0.0, 1.0]))
    fy = 40.0
    from stylize3d.cameras import Cameras

    cams = Cameras(viewmat, torch.tensor([[[fy, 0, 40], [0, fy, 30], [0, 0, 1.0]]]), torch.tensor([80]),
                   torch.tensor([60]))
    pose = viser_pose(cams)
    # viser's own quaternion -> matrix gives the camera-to-world rotation, whose columns are the OpenCV axes
    rot = vtf.SO3(pose["wxyz"]).as_matrix()
    assert np.allclose(rot, viewmat[0, :3, :3].T.numpy(), atol=1e-6)
    assert np.allclose(pose["position"], eye[0].numpy(), atol=1e-6)
    assert pose["fov"] == pytest.approx(2 * math.atan(30 / fy)) and pose["aspect"] == pytest.approx(80 / 60)
    back = camera_from_viser(pose["wxyz"], pose["position"], pose["fov"], 80, 60)
    assert torch.allclose(back.viewmats, cams.viewmats, atol=1e-5) and torch.allclose(back.Ks, cams.Ks, atol=1e-4)


def test_compose_wipe_and_sizes():
    left, right = torch.zeros(1, 3, 2, 10), torch.ones(1, 3, 2, 10)
    out = compose_wipe(left, right, 0.3)
    assert out[0, 0, 0].tolist() == [0, 0, 0] + [1] * 7
    assert size_for_aspect(2.0, 100) == (100, 50) and size_for_aspect(0.5, 100) == (50, 100)


def test_server_rendered_gives_what_its_render_fn_draws():
    scene = random_scene(32)
    splats = BrowserSplats(scene, "s")
    rep = ServerRendered(lambda c, w, h, bg, d: torch.full((1, 3, h, w), 2.0), splats.bounds(), "field")
    cam = camera_from_viser((1.0, 0, 0, 0), (0, 0, -4.0), 1.0, 16, 12)
    assert rep.render(cam, 16, 12).shape == (1, 3, 12, 16) and float(rep.render(cam, 16, 12).max()) == 1.0
    expected = render(scene, cam, 16, 12, (1.0, 1.0, 1.0)).rgb.clamp(0, 1)
    assert torch.allclose(splats.render(cam, 16, 12), expected)
    # browser colours at degree 0 are the renderer's view-independent ones: 0.5 + C0 f_dc, clamped
    assert np.allclose(splats.colours(0), (0.5 + 0.28209479177387814 * scene.sh[:, 0]).clamp(0, 1).numpy(), atol=1e-6)
    assert not np.allclose(splats.colours(3, np.array([0, 0, -4.0])), splats.colours(0))
    arrays = splats.splat_arrays()
    assert arrays["covariances"].shape == (32, 3, 3) and arrays["opacities"].shape == (32, 1)


def test_boxes_overlap():
    box = (torch.zeros(3), torch.ones(3))
    assert boxes_overlap(box, (torch.full((3,), 0.5), torch.full((3,), 2.0)))
    assert not boxes_overlap(box, (torch.tensor([0.0, 0, 1.5]), torch.tensor([1.0, 1, 2])))


def _fake_client(wxyz, position, fov=0.9, aspect=1.0):
    notes = []
    camera = SimpleNamespace(wxyz=np.asarray(wxyz, float), position=np.asarray(position, float), fov=fov,
                             aspect=aspect)
    return SimpleNamespace(camera=camera, add_notification=lambda title, body, **_: notes.append(body), notes=notes)


def test_recorded_path_round_trips_into_stylize_render(tmp_path):
    scene = random_scene(48)
    write_ply(scene, tmp_path / "scene.ply")
    viewer = Viewer(BrowserSplats(scene, "scene.ply"), options=ViewerOptions(port=0, out_dir=tmp_path / "view"))
    viewer.start()
    try:
        keys = [((1.0, 0, 0, 0), (0.0, 0.0, -4.0)), ((0.9238795, 0, 0.3826834, 0), (-1.5, 0.0, -3.7))]
        for wxyz, position in keys:
            viewer._add_keyframe(_fake_client(wxyz, position))
        viewer._kind.value = "keyframes"
        viewer._frames.value = 5
        client = _fake_client(*keys[0])
        viewer._save_path(client)
    finally:
        viewer.stop()
    saved = tmp_path / "view" / "camera_path_000.json"
    assert viewer.outputs == [str(saved)] and str(saved) in client.notes[0]
    path = read_camera_path(saved)
    assert len(path) == 5
    first = camera_from_viser(*keys[0], 0.9, 384, 384)
    assert torch.allclose(path.viewmats[0], first.viewmats[0], atol=1e-5)
    assert torch.allclose(path.viewmats[-1], camera_from_viser(*keys[1], 0.9, 384, 384).viewmats[0], atol=1e-5)
    out = tmp_path / "path.gif"
    assert main(["render", str(tmp_path / "scene.ply"), "-o", str(out), "--path", str(saved), "--size", "32",
                 "--backend", "torch", "--device", "cpu", "--save-path", str(tmp_path / "again.json")]) == 0
    assert Image.open(out).n_frames == 5
    assert torch.allclose(read_camera_path(tmp_path / "again.json").viewmats, path.viewmats)


def test_render_this_view_writes_our_render(tmp_path):
    scene = random_scene(48)
    viewer = Viewer(BrowserSplats(scene, "s"), options=ViewerOptions(port=0, out_dir=tmp_path, render_size=40))
    viewer.start()
    try:
        viewer._render_view(_fake_client((1.0, 0, 0, 0), (0.0, 0.0, -4.0), aspect=2.0))
    finally:
        viewer.stop()
    png = np.asarray(Image.open(tmp_path / "view_000.png"))
    assert png.shape == (20, 40, 3)
    expected = render(scene, camera_from_viser((1.0, 0, 0, 0), (0, 0, -4.0), 0.9, 40, 20), 40, 20, (1.0, 1.0, 1.0))
    assert np.abs(png.astype(float) - expected.rgb.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).max() <= 1


def test_port_in_use_exits_2_naming_it(tmp_path, capsys):
    write_ply(random_scene(8), tmp_path / "s.ply")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["view", str(tmp_path / "s.ply"), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [(b"not a ply", "is not a PLY file"), (None, "does not exist")])
def test_unreadable_scene_exits_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.ply"
    if content is not None:
        path.write_bytes(content)
    assert main(["view", str(path), "--port", "0"]) == 2
    assert message in capsys.readouterr().err


def test_compare_in_another_frame_warns_and_ctrl_c_stops(tmp_path, capsys, monkeypatch):
    scene = random_scene(16)
    write_ply(scene, tmp_path / "a.ply")
    write_ply(dataclasses.replace(scene, means=scene.means + 100), tmp_path / "b.ply")

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Viewer, "start", interrupted)
    assert main(["view", str(tmp_path / "a.ply"), "--compare", str(tmp_path / "b.ply"), "--port", "0"]) == 0
    captured = capsys.readouterr()
    assert "do not overlap" in captured.err and "stopped" in captured.out


def test_a_run_folder_opens_its_stylized_scene(tmp_path):
    from core.errors import InputError
    from stylize3d.viewer.shown_scene import load_shown_scene

    write_ply(random_scene(8), tmp_path / "a.ply")
    write_ply(random_scene(8, seed=1), tmp_path / "a_stylized.ply")
    assert load_shown_scene(str(tmp_path), torch.device("cpu")).name == "a_stylized.ply"
    (tmp_path / "a_stylized.ply").unlink()
    write_ply(random_scene(8), tmp_path / "b.ply")
    with pytest.raises(InputError, match="a folder with 2 scenes"):
        load_shown_scene(str(tmp_path), torch.device("cpu"))
    (tmp_path / "x.obj").write_text("v 0 0 0\n")
    with pytest.raises(InputError, match="not a scene"):
        load_shown_scene(str(tmp_path / "x.obj"), torch.device("cpu"))


def test_training_cameras_become_frustums_at_their_poses(tmp_path):
    from stylize3d.camera_paths import path_around

    scene = random_scene(16)
    cameras = path_around("orbit", 3, 40, 30, scene=scene)
    viewer = Viewer(BrowserSplats(scene, "s"), cameras=cameras, options=ViewerOptions(port=0, out_dir=tmp_path))
    viewer.start()
    try:
        for i in range(3):
            handle = viewer.server.scene.get_handle_by_name(f"/training_cameras/{i:03d}")
            pose = viser_pose(cameras, i)
            assert np.allclose(handle.position, pose["position"], atol=1e-5)
            assert np.allclose(np.abs(handle.wxyz @ pose["wxyz"]), 1.0, atol=1e-5)
            assert handle.fov == pytest.approx(pose["fov"]) and handle.aspect == pytest.approx(40 / 30)
        assert viewer.server.initial_camera.position == pytest.approx(tuple(viser_pose(cameras, 0)["position"]))
    finally:
        viewer.stop()


def test_a_radiance_field_is_served_as_server_rendered_frames(tmp_path):
    """Fields cannot be drawn by the browser's splat renderer: the viewer streams our renders of them."""
    import torch

    from stylize3d.camera_paths import orbit
    from stylize3d.fields.io import save_field
    from stylize3d.fields.render import render_field
    from stylize3d.viewer.shown_scene import ServerRendered, load_shown_scene
    from tests.stylize3d.fields.test_field_export import _sphere_field

    field = _sphere_field()
    path = tmp_path / "ball.safetensors"
    save_field(field, path)
    rep = load_shown_scene(str(path), torch.device("cpu"))
    assert isinstance(rep, ServerRendered)
    camera = orbit(torch.zeros(3), 3.0, 20.0, 1, width=24, height=24)
    expected = render_field(field, camera, 24, 24, (1.0, 1.0, 1.0)).rgb.clamp(0, 1)
    assert torch.allclose(rep.render(camera, 24, 24), expected, atol=1e-5)
    low, high = rep.bounds()
    assert torch.allclose(low, field.box_min) and torch.allclose(high, field.box_max)


@pytest.mark.parametrize("installed, message", [
    (None, "stylize view needs viser >= 1.0: pip install 'stylize-beyond[viewer]'"),
    ("0.2.7", "this environment has 0.2.7 (nerfstudio pins 0.2.7)"),
])
def test_missing_or_old_viser_is_one_line(tmp_path, capsys, monkeypatch, installed, message):
    import importlib.metadata as metadata

    def fake_version(name):
        if name != "viser":
            return real_version(name)
        if installed is None:
            raise metadata.PackageNotFoundError(name)
        return installed

    real_version = metadata.version
    monkeypatch.setattr(metadata, "version", fake_version)
    write_ply(random_scene(8), tmp_path / "s.ply")
    assert main(["view", str(tmp_path / "s.ply"), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
