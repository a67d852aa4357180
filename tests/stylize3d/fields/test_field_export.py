"""Field export: marching-cubes mesh of a known sphere, the automatic iso-level (a known answer on a uniform ball,
and a really fitted field whose opacity never reaches the old default 0.5), splats that render like the field."""

import math

import pytest
import torch
import trimesh

from core.errors import InputError
from core.metrics import psnr
from stylize3d.fields.export import export_field, field_to_mesh, field_to_splats
from stylize3d.fields.grid import new_field, world_per_grid
from stylize3d.fields.render import render_field
from stylize3d.sh import SH_C0
from stylize3d.splats.ply import read_ply
from stylize3d.splats.render import render_all
from tests.stylize3d.conftest import ring_cameras

RADIUS = 0.6


def _sphere_field(res=24, sharpness=6.0):
    """Voxel opacity exactly 0.5 on the sphere |x| = RADIUS, rising inside; colour varying with x."""
    field = new_field(-torch.ones(3), torch.ones(3), (res, res, res))
    field.density_shift = 0.0
    pts = field.voxel_centres()
    r = pts.norm(dim=-1)
    voxel = field.voxel_size * world_per_grid(field)
    sigma = math.log(2) / voxel * torch.exp(sharpness * (RADIUS - r) / voxel).clamp(max=1e3)
    field.density = torch.where(sigma > 20, sigma, torch.log(torch.expm1(sigma.clamp_min(1e-8))))[None, None]
    colour = torch.stack([0.2 + 0.6 * (pts[..., 0] + 1) / 2, 0.5 + 0 * r, 0.8 - 0.6 * (pts[..., 2] + 1) / 2], dim=0)
    field.colour = (torch.logit(colour) / SH_C0)[None]
    field.background = (1.0, 1.0, 1.0)
    return field


def _views(n=4, size=32):
    return ring_cameras(n, size, radius=2.6, height=1.0, step=1.3, fov=50.0)


def test_sphere_mesh_has_the_right_radius_and_colours(tmp_path):
    field = _sphere_field()
    mesh = field_to_mesh(field, level=0.5)
    radii = torch.from_numpy(mesh.vertices).norm(dim=-1)
    voxel = 2 / 23
    assert abs(float(radii.mean()) - RADIUS) < 0.15 * voxel and float(radii.std()) < 0.1 * voxel
    assert mesh.is_watertight and mesh.volume > 0  # closed, faces wound outwards
    assert abs(mesh.volume - 4 / 3 * math.pi * RADIUS ** 3) / (4 / 3 * math.pi * RADIUS ** 3) < 0.03
    red = mesh.visual.vertex_colors[:, 0] / 255
    assert float(torch.corrcoef(torch.stack([torch.from_numpy(red).double(),
                                             torch.from_numpy(mesh.vertices[:, 0]).double()]))[0, 1]) > 0.99
    for suffix in (".glb", ".obj", ".ply"):
        info = export_field(field, tmp_path / f"m{suffix}", level=0.5)
        back = trimesh.load(tmp_path / f"m{suffix}", force="mesh")
        assert len(back.faces) == info["faces"]


def test_exported_splats_render_close_to_the_field(tmp_path):
    field = _sphere_field()
    export_field(field, tmp_path / "s.ply", fmt="splats")
    scene = read_ply(tmp_path / "s.ply")
    assert scene.num_gaussians == len(field_to_splats(field).means)
    cams = _views()
    a = render_field(field, cams, 32, 32).rgb.clamp(0, 1)
    b = render_all(scene, cams, 32, 32, background=(1.0, 1.0, 1.0), backend="torch").rgb
    assert psnr(a, b) >= 20.0


def test_export_refusals(tmp_path):
    field = _sphere_field(res=8)
    with pytest.raises(InputError, match="must end in one of"):
        export_field(field, tmp_path / "x.stl")
    with pytest.raises(InputError, match="does not end in .ply"):
        export_field(field, tmp_path / "x.glb", fmt="splats")
    with pytest.raises(InputError, match="--level must lie in"):
        export_field(field, tmp_path / "x.obj", level=1.0)
    field.density.fill_(-30.0)
    with pytest.raises(InputError, match="never reaches --level 0.5"):
        export_field(field, tmp_path / "x.obj", level=0.5)
    with pytest.raises(InputError, match="the field renders nothing from these cameras"):
        export_field(field, tmp_path / "x.obj")
    assert not list(tmp_path.iterdir())


def test_export_command_and_scene_dispatch(tmp_path, capsys):
    from core.cli import main
    from stylize3d.fields.io import save_field
    from stylize3d.representations import load_scene, render_scene_all

    field_path = save_field(_sphere_field(res=12), tmp_path / "f.safetensors")
    assert main(["export", str(field_path), "-o", str(tmp_path / "m.obj")]) == 0
    assert len(trimesh.load(tmp_path / "m.obj", force="mesh").faces) > 100
    assert main(["export", str(field_path), "-o", str(tmp_path / "s.ply"), "--format", "splats"]) == 0
    (splats, _), (field, _) = load_scene(tmp_path / "s.ply"), load_scene(field_path)
    a, b = render_scene_all(field, _views(1), 24, 24), render_scene_all(splats, _views(1), 24, 24, backend="torch")
    assert a.rgb.shape == b.rgb.shape == (1, 3, 24, 24) and psnr(a.rgb, b.rgb) > 18
    capsys.readouterr()
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    assert main(["export", str(tmp_path / "bad.safetensors"), "-o", str(tmp_path / "x.obj")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not (tmp_path / "x.obj").exists()


def _uniform_ball(alpha_inside=0.3, res=24):
    """Voxel opacity ``alpha_inside`` at every grid point inside |x| < RADIUS, ~0 outside; grey."""
    field = new_field(-torch.ones(3), torch.ones(3), (res, res, res))
    field.density_shift = 0.0
    inside = field.voxel_centres().norm(dim=-1) < RADIUS
    sigma = -math.log(1 - alpha_inside) / (field.voxel_size * world_per_grid(field))
    field.density = torch.where(inside, math.log(math.expm1(sigma)), -30.0)[None, None]
    field.colour = torch.zeros_like(field.colour)
    field.background = (1.0, 1.0, 1.0)
    return field


def test_auto_level_of_a_uniform_ball_is_nine_tenths_of_its_opacity():
    """Rays end inside the ball, where every voxel's opacity is 0.3 (its peak too): the level is capped at
    ``LEVEL_CAP`` = 0.9 of that peak, 0.27, and the surface lies on the ball's boundary. The old fixed 0.5 refused."""
    from stylize3d.fields.export import LEVEL_CAP, auto_level

    field = _uniform_ball()
    level = auto_level(field, _views())
    assert level == pytest.approx(LEVEL_CAP * 0.3, abs=1e-4)
    mesh = field_to_mesh(field, cameras=_views())
    voxel = 2 / 23
    radii = torch.from_numpy(mesh.vertices).norm(dim=-1)
    assert mesh.metadata["level"] == pytest.approx(level) and abs(float(radii.mean()) - RADIUS) < voxel
    with pytest.raises(InputError, match="never reaches --level 0.5 .max 0.300"):
        field_to_mesh(field, level=0.5)
    assert auto_level(_sphere_field(), _views()) > 0.5  # a solid surface: rays end where the voxels turn opaque


def test_auto_level_of_a_hollow_shell_counts_rays_that_end_inside_it_with_half_their_peak():
    """A semi-transparent shell two voxels thick (voxel opacity 0.2): rays through its middle cross two walls and
    their expected end lies in the empty inside (opacity ~0), so they count with half their peak, 0.1, as do the
    rays that end in one wall (capped at 0.18 or less); the mesh is the shell's two sides."""
    from stylize3d.fields.export import auto_level

    field = new_field(-torch.ones(3), torch.ones(3), (32, 32, 32))
    field.density_shift = 0.0
    voxel = field.voxel_size * world_per_grid(field)
    r = field.voxel_centres().norm(dim=-1)
    wall = (r < RADIUS) & (r > RADIUS - 2 * voxel)
    sigma = -math.log(1 - 0.2) / voxel
    field.density = torch.where(wall, math.log(math.expm1(sigma)), -30.0)[None, None]
    assert auto_level(field, _views()) == pytest.approx(0.1, abs=1e-4)
    radii = torch.from_numpy(field_to_mesh(field, cameras=_views()).vertices).norm(dim=-1)
    assert float(radii.min()) > float(r[wall].min()) - voxel / 2 and float(radii.max()) < float(r[wall].max()) + voxel / 2


def _shell_dataset(folder):
    """16 RGBA views at 32 px of 600 opaque Gaussians on a sphere of radius 0.5 around (0, 0, 0.35)."""
    from stylize3d.datasets.synthetic import write_synthetic_dataset
    from stylize3d.splats.scene import GaussianScene

    g = torch.Generator().manual_seed(0)
    directions = torch.nn.functional.normalize(torch.randn(600, 3, generator=g), dim=1)
    scene = GaussianScene(means=directions * 0.5 + torch.tensor([0.0, 0.0, 0.35]),
                          quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(600, 1),
                          log_scales=torch.full((600, 3), math.log(0.06)), opacity_logits=torch.full((600,), 4.0),
                          sh=(torch.rand(600, 1, 3, generator=g) - 0.5) / SH_C0)
    return write_synthetic_dataset(folder, views=16, size=32, scene=scene)


def test_default_export_of_a_fitted_field_that_never_reaches_half_opacity(tmp_path, capsys):
    """A field really fitted (300 steps, ~3 CPU-seconds) to a rendered scene: its voxel opacity stays under 0.5,
    so the old default refused it; ``stylize export`` with default flags meshes it, from its training cameras
    and from an orbit, and the vertices lie near where the training rays end (their rendered depth)."""
    import json

    from core.cli import main
    from stylize3d.datasets.posed import load_posed_dataset
    from stylize3d.fields.export import voxel_opacity
    from stylize3d.fields.fit import FieldFitConfig, fit_field
    from stylize3d.fields.io import save_field
    from stylize3d.fields.render import camera_rays

    data_dir = _shell_dataset(tmp_path / "data")
    data = load_posed_dataset(data_dir)
    field = fit_field(data, FieldFitConfig(steps=300, voxels=8000, batch_rays=1024), torch.device("cpu"),
                      progress=False).field
    peak = float(voxel_opacity(field).max())
    assert 0.05 < peak < 0.5
    with pytest.raises(InputError, match="never reaches --level 0.5"):
        field_to_mesh(field, level=0.5)
    field_path = save_field(field, tmp_path / "f.safetensors")
    report = tmp_path / "export.json"
    assert main(["export", str(field_path), "-o", str(tmp_path / "m.ply"), "--cameras", str(data_dir),
                 "--report", str(report)]) == 0
    sizes = json.loads(report.read_text())["sizes"]
    assert 0 < sizes["level"] < peak and f"iso-level {sizes['level']:.3f} picked" in capsys.readouterr().err
    vertices = torch.from_numpy(trimesh.load(tmp_path / "m.ply", force="mesh").vertices).float()
    assert len(vertices) == sizes["vertices"] > 200
    train = data.cameras[data.split["train"]]
    rendered = render_field(field, train, 32, 32)
    rays = camera_rays(train, 32, 32)
    hit = rendered.alpha.reshape(-1) >= 0.5
    ends = rays.origins[hit] + rays.dirs[hit] * rendered.depth.reshape(-1)[hit, None]
    voxel = field.voxel_size * world_per_grid(field)
    distance = torch.cdist(vertices, ends).min(dim=1).values / voxel
    assert float(distance.median()) < 1.0 and float(distance.quantile(0.9)) < 1.5  # voxels
    assert main(["export", str(field_path), "-o", str(tmp_path / "orbit.obj")]) == 0
    assert len(trimesh.load(tmp_path / "orbit.obj", force="mesh").vertices) > 200
