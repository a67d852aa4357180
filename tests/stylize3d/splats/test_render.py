"""Torch renderer: brute-force per-pixel reference, known values, gradients, chunking invariance, backends."""

import math

import pytest
import torch

from core.errors import DeviceError
from stylize3d.cameras import Cameras, intrinsics, look_at
from stylize3d.sh import SH_C0, eval_sh
from stylize3d.splats.render import render
from stylize3d.splats.render.projection import project_gaussians, quat_scale_to_covar
from stylize3d.splats.render.tiles import bin_gaussians
from stylize3d.splats.render import torch_backend
from stylize3d.splats.render.torch_backend import rasterize
from stylize3d.splats.scene import GaussianScene


def camera(width, height, eye=(0.0, -3.0, 0.0), f=None):
    f = f or 0.8 * width
    view = look_at(torch.tensor([eye]), torch.zeros(3), torch.tensor([0.0, 0, 1]))
    return Cameras(view, intrinsics(f, f, width / 2, height / 2)[None], torch.tensor([width]), torch.tensor([height]))


def brute_force(scene, cams, width, height, background, degree):
    """Straightforward per-pixel, per-Gaussian loop with gsplat's compositing rules (float64)."""
    s = scene.to("cpu", torch.float64)
    view, K = cams.viewmats.double(), cams.Ks.double()
    opac = torch.sigmoid(s.opacity_logits)
    cov = quat_scale_to_covar(s.quats, torch.exp(s.log_scales))
    p = project_gaussians(s.means, cov, view, K, width, height, opacities=opac)
    centre = -(view[0, :3, :3].T @ view[0, :3, 3])
    colour = torch.clamp_min(eval_sh(degree, s.means - centre, s.sh) + 0.5, 0)
    order = [i for i in torch.argsort(p.depths[0]).tolist() if p.radii[0, i].min() > 0]
    img = torch.zeros(3, height, width, dtype=torch.float64)
    acc = torch.zeros(height, width, dtype=torch.float64)
    for y in range(height):
        for x in range(width):
            T, rgb = 1.0, torch.zeros(3, dtype=torch.float64)
            for i in order:
                mx, my = p.means2d[0, i].tolist()
                if abs(x + 0.5 - mx) > p.radii[0, i, 0] + 16 or abs(y + 0.5 - my) > p.radii[0, i, 1] + 16:
                    continue  # not in this pixel's tile (tiles are 16 px; this bound is loose and safe)
                a, b, c = p.conics[0, i].tolist()
                dx, dy = x + 0.5 - mx, y + 0.5 - my
                sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                alpha = min(0.999, float(opac[i]) * math.exp(-sigma))
                if sigma < 0 or alpha < 1 / 255:
                    continue
                if T * (1 - alpha) <= 1e-4:
                    break
                rgb += alpha * T * colour[i]
                T *= 1 - alpha
            img[:, y, x] = rgb + T * torch.tensor(background, dtype=torch.float64)
            acc[y, x] = 1 - T
    return img, acc


def test_matches_brute_force_reference(make_scene):
    scene = make_scene(n=40, degree=2, seed=3, spread=0.6)
    cams = camera(36, 20)
    out = render(scene, cams, 36, 20, background=(0.2, 0.3, 0.4), backend="torch")
    img, acc = brute_force(scene, cams, 36, 20, (0.2, 0.3, 0.4), 2)
    assert acc.max() > 0.9 and acc.min() < 0.5  # covered and empty regions
    assert torch.allclose(out.rgb[0].double(), img, atol=1e-5)
    assert torch.allclose(out.alpha[0, 0].double(), acc, atol=1e-5)


def test_single_gaussian_known_values():
    """An isotropic Gaussian of std s at distance 3 on the optical axis: 2D variance (f s / 3)^2 + 0.3."""
    s, o, f = 0.15, 0.8, 40.0
    scene = GaussianScene(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]), torch.full((1, 3), math.log(s)),
                          torch.logit(torch.tensor([o])), torch.full((1, 1, 3), (0.7 - 0.5) / SH_C0))
    cams = camera(32, 32, f=f)
    out = render(scene, cams, 32, 32, backend="torch")
    var = (f * s / 3) ** 2 + 0.3
    for x, y in [(16, 16), (18, 15), (20, 16)]:  # pixel (x, y) has centre (x + .5, y + .5); mean at (16, 16)
        d2 = (x + 0.5 - 16) ** 2 + (y + 0.5 - 16) ** 2
        alpha = o * math.exp(-0.5 * d2 / var)
        assert float(out.alpha[0, 0, y, x]) == pytest.approx(alpha, rel=1e-5)
        assert float(out.rgb[0, 0, y, x]) == pytest.approx(0.7 * alpha, rel=1e-5)
        assert float(out.depth[0, 0, y, x]) == pytest.approx(3.0, rel=1e-6)
    assert float(out.alpha[0, 0, 0, 0]) == 0.0


def test_opaque_layers_saturate_and_hide_what_is_behind():
    """Two big opaque layers: green in front of red. Alpha tops out at 0.999, leaving T = 1e-3; the red layer would
    bring T to 1e-6 <= 1e-4, so the pixel stops before it (exclusive) and the blue background gets the 1e-3."""
    n = 2
    scene = GaussianScene(torch.tensor([[0.0, -1.0, 0.0], [0.0, 0.5, 0.0]]), torch.tensor([[1.0, 0, 0, 0]] * n),
                          torch.log(torch.tensor([[3.0, 0.01, 3.0]] * n)), torch.full((n,), 20.0),
                          torch.tensor([[[1.0, -1.0, -1.0]], [[-1.0, -1.0, -1.0]]]) / SH_C0 * 0.5)
    scene.sh[0, 0] = torch.tensor([-0.5, 0.5, -0.5]) / SH_C0  # front: pure green
    scene.sh[1, 0] = torch.tensor([0.5, -0.5, -0.5]) / SH_C0  # back: pure red
    out = render(scene, camera(16, 16), 16, 16, background=(0.0, 0.0, 1.0), backend="torch")
    centre = out.rgb[0, :, 8, 8]
    assert centre.tolist() == pytest.approx([0.0, 0.999, 0.001], abs=1e-6)
    assert float(out.alpha[0, 0, 8, 8]) == pytest.approx(0.999, abs=1e-6)
    assert float(out.depth[0, 0, 8, 8]) == pytest.approx(2.0, rel=1e-6)


def _tiny_scene(dtype=torch.float64):
    g = torch.Generator().manual_seed(7)
    n = 4
    return GaussianScene(
        means=(torch.rand(n, 3, generator=g) - 0.5) * 0.4,
        quats=torch.randn(n, 4, generator=g),
        log_scales=torch.log(torch.rand(n, 3, generator=g) * 0.1 + 0.1),
        opacity_logits=torch.randn(n, generator=g) * 0.5,
        sh=torch.randn(n, 4, 3, generator=g) * 0.3,
    ).to("cpu", dtype)


@pytest.mark.parametrize("depth_block", [32, 1, 2])
def test_gradients_match_finite_differences(depth_block, monkeypatch):
    """All parameters, through the hand-written compositing backward; small depth blocks exercise the
    carry of transmittance and of the behind-sums across blocks."""
    monkeypatch.setattr(torch_backend, "DEPTH_BLOCK", depth_block)
    scene = _tiny_scene()
    cams = camera(10, 8)
    names = list(scene.tensors())

    def fn(*params):
        out = render(GaussianScene(**dict(zip(names, params))), cams, 10, 8, background=(0.1, 0.2, 0.3), backend="torch")
        return out.rgb, out.alpha, out.depth

    params = tuple(t.clone().requires_grad_() for t in scene.tensors().values())
    rgb, alpha, depth = fn(*params)
    grads = torch.autograd.grad(rgb.sum() + alpha.sum() + depth.sum(), params)
    assert all(float(g.abs().max()) > 0 for g in grads)  # every parameter reaches the image
    assert torch.autograd.gradcheck(fn, params, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_chunking_does_not_change_result_or_gradient(make_scene):
    scene = make_scene(n=300, degree=1, seed=5, spread=0.8)
    cams = camera(64, 48)
    cov = quat_scale_to_covar(scene.quats, torch.exp(scene.log_scales))
    opac = torch.sigmoid(scene.opacity_logits)
    p = project_gaussians(scene.means, cov, cams.viewmats, cams.Ks, 64, 48, opacities=opac)
    bins = bin_gaussians(p.means2d[0], p.radii[0], p.depths[0], 64, 48)
    assert len(bins.gaussian_ids) > 300 and int(bins.counts.max()) > 32  # several depth blocks
    colours = torch.rand(300, 3, requires_grad=True)
    grads = []
    for chunk in (1, 5, 10_000):
        out = rasterize(p.means2d[0], p.conics[0], opac, colours, bins, 64, 48, chunk_tiles=chunk)
        (g,) = torch.autograd.grad((out * torch.linspace(0, 1, 4)).sum(), colours)
        grads.append((out.detach(), g))
    for out, g in grads[1:]:
        assert torch.allclose(out, grads[0][0], atol=1e-6) and torch.allclose(g, grads[0][1], atol=1e-5)


def test_tile_binning_lists_each_gaussian_in_its_tiles_front_to_back():
    means2d = torch.tensor([[8.0, 8.0], [20.0, 8.0], [17.0, 17.0]])
    radii = torch.tensor([[3, 3], [3, 3], [4, 4]], dtype=torch.int32)
    depths = torch.tensor([3.0, 1.0, 2.0])
    bins = bin_gaussians(means2d, radii, depths, 48, 32, tile=16)
    tiles = {t: bins.gaussian_ids[bins.offsets[t]:bins.offsets[t + 1]].tolist() for t in range(6)}
    # gaussian 2 spans tiles (0..1) x (0..1); gaussian 1 spans tiles x 1 only, y 0; tile grid is 3 x 2
    assert tiles == {0: [2, 0], 1: [1, 2], 2: [], 3: [2], 4: [2], 5: []}


def test_gsplat_backend_refused_without_cuda(make_scene):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the refusal path is not reachable")
    with pytest.raises(DeviceError, match="CUDA"):
        render(make_scene(n=3), camera(8, 8), 8, 8, backend="gsplat")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: gsplat's rasterizer has no CPU path")
def test_gsplat_backend_matches_torch_backend_on_cuda(make_scene):
    scene = make_scene(n=2000, degree=3, seed=9).to("cuda")
    cams = camera(128, 96)
    a = render(scene, cams, 128, 96, backend="torch")
    b = render(scene, cams, 128, 96, backend="gsplat")
    assert (a.rgb - b.rgb).abs().mean() < 1e-3
    assert (a.alpha - b.alpha).abs().mean() < 1e-3


def test_tile_cull_drops_untouched_tiles_without_changing_the_image():
    # one long thin splat along the image diagonal: its bounding box covers every tile, its ellipse few of them
    means2d = torch.tensor([[32.0, 32.0]], dtype=torch.float64)
    cov = torch.tensor([[200.0, 199.0], [199.0, 200.0]], dtype=torch.float64)
    inv = torch.linalg.inv(cov)
    conics = torch.stack([inv[0, 0], inv[0, 1], inv[1, 1]])[None]
    radii = torch.ceil(3.33 * torch.sqrt(torch.diag(cov)))[None].to(torch.int32)
    opacity = torch.tensor([0.9], dtype=torch.float64)
    depths = torch.ones(1, dtype=torch.float64)
    colours = torch.tensor([[0.2, 0.5, 0.9]], dtype=torch.float64)
    box = bin_gaussians(means2d, radii, depths, 64, 64)
    culled = bin_gaussians(means2d, radii, depths, 64, 64, conics=conics, opacities=opacity)
    assert len(box.gaussian_ids) == 64 and 8 <= len(culled.gaussian_ids) <= 30
    a = rasterize(means2d, conics, opacity, colours, box, 64, 64)
    b = rasterize(means2d, conics, opacity, colours, culled, 64, 64)
    assert torch.allclose(a, b, rtol=0, atol=1e-12) and float(a[..., 3].max()) > 0.5
    # a kept tile touches the splat; a dropped one has every alpha under 1/255
    kept = set(torch.nonzero(culled.counts).squeeze(1).tolist())
    tile_alpha = a[..., 3].reshape(8, 8, 8, 8).permute(0, 2, 1, 3).reshape(64, 64).amax(1)
    assert kept == set(torch.nonzero(tile_alpha >= 1 / 255).squeeze(1).tolist())
