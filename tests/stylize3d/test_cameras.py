"""Cameras: OpenGL→OpenCV conversion, transforms.json loading, camera paths and their JSON."""

import json
import math

import pytest
import torch
from PIL import Image

from core.errors import InputError
from stylize3d.camera_paths import ellipse, interpolate, orbit, read_camera_path, spiral, write_camera_path
from stylize3d.cameras import Cameras, c2w_opengl_to_viewmat, look_at
from stylize3d.datasets.transforms_json import load_transforms, transforms_dict


def project(cams: Cameras, points: torch.Tensor) -> torch.Tensor:
    """``B,P,3`` pixel coordinates (u, v, depth) of world ``points`` P,3."""
    cam = points @ cams.viewmats[:, :3, :3].transpose(1, 2) + cams.viewmats[:, None, :3, 3]
    uv = cam @ cams.Ks.transpose(1, 2)
    return torch.cat([uv[..., :2] / uv[..., 2:], cam[..., 2:]], dim=-1)


def test_opengl_c2w_becomes_opencv_viewmat():
    c2w = torch.eye(4)
    c2w[:3, 3] = torch.tensor([0.0, 0.0, 5.0])  # OpenGL camera at z=5 looking down -z, y up
    view = c2w_opengl_to_viewmat(c2w[None])[0]
    pts = torch.tensor([[0.0, 0, 0, 1], [1.0, 0, 0, 1], [0.0, 1, 0, 1]])
    cam = pts @ view.T
    assert cam[0, :3].tolist() == pytest.approx([0, 0, 5])  # origin in front, 5 units away
    assert cam[1, 0] == pytest.approx(1)  # world +x is image right
    assert cam[2, 1] == pytest.approx(-1)  # world +y (up) is image up = -y in OpenCV


def test_look_at_puts_target_on_axis():
    view = look_at(torch.tensor([[0.0, -5, 0]]), torch.zeros(3), torch.tensor([0.0, 0, 1]))[0]
    cam = torch.tensor([[0.0, 0, 0, 1], [0.0, 0, 1, 1], [1.0, 0, 0, 1]]) @ view.T
    assert cam[0, :3].tolist() == pytest.approx([0, 0, 5], abs=1e-6)
    assert cam[1, 1] < 0 and cam[2, 0] > 0
    assert torch.allclose(view[:3, :3] @ view[:3, :3].T, torch.eye(3), atol=1e-6)


def _transforms(tmp_path, frames, **meta):
    doc = {"frames": frames, **meta}
    (tmp_path / "transforms.json").write_text(json.dumps(doc))
    return tmp_path / "transforms.json"


def _c2w(z=4.0):
    return [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, z], [0, 0, 0, 1]]


def test_transforms_camera_angle_x_image_size_and_downscale(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "images" / "a.png")
    path = _transforms(tmp_path, [{"file_path": "images/a", "transform_matrix": _c2w()}],
                       camera_angle_x=2 * math.atan(0.5))
    cams = load_transforms(path, downscale=2)
    # fx = 0.5 * 40 / tan(atan(0.5)) = 40 at full size; halved by downscale
    assert cams.Ks[0].flatten().tolist() == pytest.approx([20, 0, 10, 0, 20, 7.5, 0, 0, 1])
    assert (int(cams.widths[0]), int(cams.heights[0])) == (20, 15)


def test_transforms_per_frame_intrinsics_override_global(tmp_path):
    frames = [{"transform_matrix": _c2w()}, {"transform_matrix": _c2w(5.0), "fl_x": 100, "cx": 30, "w": 64}]
    path = _transforms(tmp_path, frames, fl_x=50, fl_y=60, cx=16, cy=12, w=32, h=24, camera_model="OPENCV")
    cams = load_transforms(path)
    assert cams.Ks[0].tolist() == [[50, 0, 16], [0, 60, 12], [0, 0, 1]]
    assert cams.Ks[1].tolist() == [[100, 0, 30], [0, 60, 12], [0, 0, 1]]
    assert cams.widths.tolist() == [32, 64]
    assert cams.centers()[1].tolist() == pytest.approx([0, 0, 5])


def test_transforms_round_trip(tmp_path):
    cams = orbit(torch.zeros(3), 3.0, 20.0, 5, width=48, height=32)
    path = _transforms(tmp_path, **transforms_dict(cams))
    back = load_transforms(path)
    assert torch.allclose(back.viewmats, cams.viewmats, atol=1e-5)
    assert torch.allclose(back.Ks, cams.Ks)


@pytest.mark.parametrize("frame,meta,message", [
    ({"transform_matrix": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}, {"fl_x": 10, "w": 8, "h": 8}, "not a rigid"),
    ({"transform_matrix": [[float("nan")] * 4] * 4}, {"fl_x": 10, "w": 8, "h": 8}, "NaN"),
    ({"transform_matrix": _c2w()}, {"w": 8, "h": 8}, "no focal length"),
    ({"transform_matrix": _c2w()}, {"fl_x": 10, "w": 8, "h": 8, "camera_model": "OPENCV_FISHEYE"}, "not supported"),
])
def test_transforms_bad_input(tmp_path, frame, meta, message):
    path = _transforms(tmp_path, [frame], **meta)
    with pytest.raises(InputError, match=message):
        load_transforms(path)


def test_missing_images_warn_unless_required(tmp_path):
    frames = [{"file_path": "images/gone.png", "transform_matrix": _c2w(z)} for z in (3.0, 4.0)]
    path = _transforms(tmp_path, frames, fl_x=10, w=8, h=6)
    with pytest.warns(UserWarning, match="2 image\\(s\\) named by frames are missing, e.g. images/gone.png"):
        cams = load_transforms(path)
    assert len(cams) == 2 and cams.centers()[:, 2].tolist() == pytest.approx([3.0, 4.0])
    assert (int(cams.widths[0]), int(cams.heights[0])) == (8, 6)
    with pytest.raises(InputError, match="2 image"):
        load_transforms(path, require_images=True)
    no_size = _transforms(tmp_path, frames, fl_x=10)
    with pytest.raises(InputError, match="no image size"):
        load_transforms(no_size)


def test_orbit_and_ellipse_geometry():
    center = torch.tensor([1.0, 2.0, 0.5])
    cams = orbit(center, 4.0, 30.0, 8, width=64, height=48)
    uvd = project(cams, center[None])
    assert torch.allclose(uvd[:, 0, :2], torch.tensor([32.0, 24.0]), atol=1e-4)  # centre on the optical axis
    offset = cams.centers() - center
    assert torch.allclose(offset[:, :2].norm(dim=1), torch.full((8,), 4.0), atol=1e-5)
    assert torch.allclose(offset[:, 2], torch.full((8,), 4.0 * math.tan(math.radians(30))), atol=1e-5)
    # world up appears up in the image
    above = project(cams, (center + torch.tensor([0.0, 0, 0.3]))[None])
    assert (above[:, 0, 1] < 24).all()
    ell = ellipse(center, 4.0, 2.0, 0.0, 4)
    assert (ell.centers() - center).norm(dim=1).tolist() == pytest.approx([4, 2, 4, 2], abs=1e-5)


def test_spiral_stays_looking_at_center():
    cams = spiral(torch.zeros(3), 3.0, 12, width=32, height=32)
    assert torch.allclose(project(cams, torch.zeros(1, 3))[:, 0, :2], torch.full((12, 2), 16.0), atol=1e-4)
    elev = torch.rad2deg(torch.asin(cams.centers()[:, 2] / cams.centers().norm(dim=1)))
    assert elev.min() == pytest.approx(10, abs=0.5) and elev.max() > 35


def test_interpolate_hits_keys_and_is_smooth():
    keys = orbit(torch.zeros(3), 3.0, 20.0, 4, width=32, height=32)[[0, 1, 2]]
    path = interpolate(keys, 9)  # frames 0, 4, 8 are the keys
    for frame, key in [(0, 0), (4, 1), (8, 2)]:
        assert torch.allclose(path.viewmats[frame], keys.viewmats[key], atol=1e-5)
    steps = (path.centers()[1:] - path.centers()[:-1]).norm(dim=1)
    assert steps.max() / steps.min() < 1.6  # no jumps
    rot = path.viewmats[:, :3, :3]
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(9, 3, 3), atol=1e-5)


def test_camera_path_json_round_trip_and_errors(tmp_path):
    cams = spiral(torch.zeros(3), 2.0, 5, width=40, height=30)
    write_camera_path(cams, tmp_path / "p.json")
    back = read_camera_path(tmp_path / "p.json")
    assert torch.equal(back.viewmats, cams.viewmats) and torch.equal(back.Ks, cams.Ks)
    assert back.widths.tolist() == [40] * 5
    (tmp_path / "bad.json").write_text('{"frames": []}')
    with pytest.raises(InputError, match="neither a stylize3d-camera-path"):
        read_camera_path(tmp_path / "bad.json")
    (tmp_path / "short.json").write_text('{"format": "stylize3d-camera-path", "frames": [{"K": 1}]}')
    with pytest.raises(InputError, match="frame 0: viewmat is not a numeric matrix"):
        read_camera_path(tmp_path / "short.json")


def test_reads_nerfstudio_viewer_camera_path(tmp_path):
    c2w = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4, 0, 0, 0, 1]  # OpenGL camera at z = 4 looking down -z
    doc = {"render_width": 64, "render_height": 32, "camera_path": [{"camera_to_world": c2w, "fov": 90, "aspect": 2}] * 2}
    (tmp_path / "camera_path.json").write_text(json.dumps(doc))
    cams = read_camera_path(tmp_path / "camera_path.json")
    assert len(cams) == 2 and cams.widths.tolist() == [64, 64]
    assert cams.Ks[0].flatten().tolist() == pytest.approx([16, 0, 32, 0, 16, 16, 0, 0, 1])  # fy = 16 / tan(45°)
    uvd = project(cams, torch.tensor([[0.0, 1.0, 0.0]]))  # world +y is up: above the image centre
    assert uvd[0, 0].tolist() == pytest.approx([32, 12, 4])


def test_path_fitted_to_cameras_recovers_their_orbit():
    from stylize3d.camera_paths import path_around

    centre = torch.tensor([0.5, -1.0, 0.3])
    train = orbit(centre, 3.0, 30.0, 7, fov_deg=40, width=64, height=48)
    path = path_around("orbit", 5, 64, 48, cameras=train)
    offset = path.centers() - centre
    assert torch.allclose(offset[:, :2].norm(dim=1), torch.full((5,), 3.0), atol=1e-4)
    assert torch.allclose(offset[:, 2], torch.full((5,), 3.0 * math.tan(math.radians(30))), atol=1e-4)
    assert torch.allclose(path.Ks[0], train.Ks[0], atol=1e-3)  # same field of view
    assert torch.allclose(project(path, centre[None])[:, 0, :2], torch.tensor([32.0, 24.0]), atol=1e-3)
    ell = path_around("ellipse", 4, 64, 48, cameras=train, elevation_deg=0.0)
    assert (ell.centers() - centre).norm(dim=1).tolist() == pytest.approx([3.0, 2.1, 3.0, 2.1], abs=1e-4)


def _dataparser_file(tmp_path, transform, scale):
    path = tmp_path / "dataparser_transforms.json"
    path.write_text(json.dumps({"transform": transform, "scale": scale}))
    return path


def test_dataparser_transform_moves_cameras_with_the_exported_scene(tmp_path):
    """A point p of the capture sits at s·(R p + t) in nerfstudio's training frame (where exported splats live);
    the moved cameras must see it at the same pixel, at s times the depth."""
    angle = math.radians(30)
    rot = torch.tensor([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]],
                       dtype=torch.float64)
    rot = rot @ torch.tensor([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=torch.float64)  # and a quarter turn about x
    shift, scale = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64), 0.25
    transform = torch.cat([rot, shift[:, None]], dim=1).tolist()
    frames = [{"transform_matrix": _c2w(4.0), "fl_x": 50, "fl_y": 50, "w": 64, "h": 48},
              {"transform_matrix": [[0, 0, 1, 5], [1, 0, 0, 0], [0, 1, 0, 0.5], [0, 0, 0, 1]],
               "fl_x": 60, "fl_y": 60, "w": 64, "h": 48}]
    path = _transforms(tmp_path, frames)
    capture = load_transforms(path)
    moved = load_transforms(path, dataparser=_dataparser_file(tmp_path, transform, scale))
    points = torch.tensor([[0.0, 0, 0], [0.3, -0.2, 0.1], [-0.4, 0.25, -0.3]])
    in_training_frame = (scale * (points.double() @ rot.T + shift)).float()
    before, after = project(capture, points), project(moved, in_training_frame)
    assert torch.allclose(after[..., :2], before[..., :2], atol=1e-3)
    assert torch.allclose(after[..., 2], scale * before[..., 2], atol=1e-4)


@pytest.mark.parametrize("doc,message", [
    ({"transform": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]}, "with 'transform' and 'scale'"),
    ({"transform": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], "scale": 1}, "not a rigid transform"),
    ({"transform": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], "scale": -2}, "finite and positive"),
    ({"transform": [[1, 0], [0, 1]], "scale": 1}, "expected 4x4"),
])
def test_dataparser_transform_bad_input(tmp_path, doc, message):
    path = _transforms(tmp_path, [{"transform_matrix": _c2w(), "fl_x": 50, "fl_y": 50, "w": 64, "h": 48}])
    bad = tmp_path / "dp.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message):
        load_transforms(path, dataparser=bad)
    with pytest.raises(InputError, match="does not exist"):
        load_transforms(path, dataparser=tmp_path / "missing.json")
