"""Field stylization: the frozen-sample render and its hand-written backward equal rendering and
back-propagating through the renderer (same loss, same colour-grid gradient); colour transfer on the grid."""

import pytest
import torch

from stylize3d.fields.grid import new_field
from core.losses.nnfm import nnfm_loss
from stylize3d.fields.frozen_samples import BYTES_PER_RAY, BYTES_PER_SAMPLE, FrozenRender, FrozenSampleCache
from stylize3d.fields.render import camera_rays, render_field, render_rays, weighted_samples
from stylize3d.fields.stylize import (LEAF_SCALE, FieldStyleTask, field_style_task, frozen_views, to_degree0,
                                      transfer_field_colours)
from stylize3d.scene_style import SceneStyleConfig
from stylize3d.sh import SH_C0
from stylize3d.stylize import stylize_scene
from tests.stylize3d.conftest import ring_cameras


def _field(degree=0, res=(6, 7, 8), seed=0):
    g = torch.Generator().manual_seed(seed)
    field = new_field(-torch.ones(3), torch.ones(3), res, sh_degree=degree)
    field.density = torch.randn(field.density.shape, generator=g) * 2 + 9  # sigma about 1 per unit
    field.colour = torch.randn(field.colour.shape, generator=g)
    field.background = (1.0, 1.0, 1.0)
    return field


def _cameras(n=3, size=16):
    return ring_cameras(n, size, radius=3.0, height=1.2, step=2.1, fov=55.0)


def _loss_of(image, style):
    """A non-linear full-image loss, like VGG's: NNFM on the pixels as features, squares and a TV term."""
    weights = torch.rand(1, 3, *image.shape[-2:], generator=torch.Generator().manual_seed(3))
    return (nnfm_loss(image, style) + (weights * image).sum() + (image ** 2).mean() * 10
            + image[..., 1:, :].sub(image[..., :-1, :]).abs().sum())


def _direct(field, colour, rays, height, width):
    """The reference path: the field rendered with autograd through the renderer (what the old deferred render's
    chunks did): ``1,3,H,W``."""
    return render_rays(type(field)(**{**field.__dict__, "colour": colour}), rays, torch.ones(3))["rgb"].T.reshape(
        1, 3, height, width)


@pytest.mark.parametrize("part_samples", [1, 300, 10 ** 6])
def test_frozen_render_gives_the_loss_and_gradient_of_back_propagating_through_the_renderer(part_samples):
    """The old path (autograd through the renderer) and the new (frozen samples, transposed pass) on a tiny field:
    the same loss and the same colour-grid gradient, whatever the parts."""
    field = _field()
    rays = camera_rays(_cameras(1), 16, 12)
    style = torch.rand(1, 3, 10, 9, generator=torch.Generator().manual_seed(4))
    cache = FrozenSampleCache(field, 37, 2 ** 30, part_samples=part_samples)
    cache.prepare(0, rays)
    colour = field.colour.clone().requires_grad_(True)
    new_loss = _loss_of(FrozenRender.apply(cache, 0, rays, torch.ones(3), colour).T.reshape(1, 3, 12, 16), style)
    new_loss.backward()
    new_grad, colour.grad = colour.grad.clone(), None
    old_loss = _loss_of(_direct(field, colour, rays, 12, 16), style)
    old_loss.backward()
    assert new_grad.abs().max() > 1e-3  # the gradient reaches the grid
    assert torch.allclose(new_loss, old_loss, rtol=1e-6)
    assert (new_grad - colour.grad).norm() <= 1e-5 * colour.grad.norm()
    assert torch.allclose(new_grad, colour.grad, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("cache_bytes", [0, 2 ** 30])
def test_task_render_with_frozen_samples_equals_a_full_render(cache_bytes):
    """The task's cached-sample renders (and their gradients) equal rendering the field from scratch."""
    field = _field()
    cams = _cameras(2, 16)
    config = SceneStyleConfig(size=16)
    task = FieldStyleTask(field, cams, torch.zeros(2, 3, 16, 16), torch.zeros(1, 3, 16, 16), config, [], chunk=50,
                          cache_bytes=cache_bytes)
    weights = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    for view in (1, 0, 1):
        task.leaf.grad = None
        image = task.render(view)
        (weights * image ** 2).sum().backward()
        colour = field.colour.clone().requires_grad_(True)
        direct = _direct(field, colour, camera_rays(cams[view], 16, 16), 16, 16)
        (weights * direct ** 2).sum().backward()
        assert torch.allclose(image, direct.detach(), atol=1e-6)
        assert torch.allclose(task.leaf.grad, LEAF_SCALE * colour.grad, atol=1e-6) and colour.grad.abs().max() > 1e-4
    assert len(task.samples.views) == (2 if cache_bytes else 0)


def test_the_reference_renders_fill_the_cache_and_equal_render_field():
    """Setting up a stylization samples every view once (its content references), so the steps find them kept."""
    field, cams = _field(), _cameras(3, 16)
    config = SceneStyleConfig(size=16)
    config.color_transfer = False
    task, _ = field_style_task(field, cams, torch.rand(1, 3, 16, 16), config)
    assert list(task.samples.views) == [0, 1, 2]
    want = render_field(field, cams, 16, 16)
    assert torch.allclose(task.originals, want.rgb, atol=1e-6)
    rgb, alpha = frozen_views(task.samples, field, cams, 16, 16)
    assert torch.allclose(rgb, want.rgb, atol=1e-6) and torch.allclose(alpha, want.alpha, atol=1e-6)


def _ray_parts(parts):
    """The rays, depths and weights of a view's parts, concatenated."""
    parts = list(parts)
    return [torch.cat([getattr(p, name)() if name == "ray" else getattr(p, name) for p in parts])
            for name in ("ray", "t", "weights")]


def test_the_sample_cache_stays_within_its_budget_and_renders_the_same():
    """Views that do not fit evict the oldest; a view larger than the whole budget is not kept but rendered the
    same (its chunks sampled again); samples are kept at 8 bytes each (+ 4 per ray)."""
    field = _field()
    cams = _cameras(3, 16)
    rays = [camera_rays(cams[v], 16, 16) for v in range(3)]
    full = FrozenSampleCache(field, 50, 2 ** 30, part_samples=700)
    for v in range(3):
        full.prepare(v, rays[v])
    sizes = [sum(p.nbytes() for p in full.views[v]) for v in range(3)]
    samples = sum(len(p.t) for p in full.views[0])
    assert sizes[0] == BYTES_PER_SAMPLE * samples + BYTES_PER_RAY * 256 and samples > 700
    assert len(full.views[0]) > 1 and all(len(p.t) < 700 + 50 * 40 for p in full.views[0])
    direct = weighted_samples(field, rays[0])
    ray, t, weights = _ray_parts(full.views[0])
    assert torch.equal(ray, direct.ray) and torch.equal(t, direct.t)
    assert torch.allclose(weights, direct.weights, rtol=1e-6, atol=1e-9)
    two = FrozenSampleCache(field, 50, sizes[0] + sizes[1] + sizes[2] - 1)  # all three do not fit
    for v in range(3):
        two.prepare(v, rays[v])
        assert two.used <= two.budget
    assert list(two.views) == [1, 2]  # the oldest went
    tiny = FrozenSampleCache(field, 50, min(sizes) // 2)
    tiny.prepare(0, rays[0])
    assert not tiny.views and tiny.used == 0 and tiny.too_large == {0}
    for cache in (two, tiny):
        got, want = _ray_parts(cache.parts(0, rays[0])), _ray_parts(full.parts(0, rays[0]))
        assert all(torch.equal(a, b) for a, b in zip(got, want))
    sampled = []
    real = two._sample
    two._sample = lambda r, first: sampled.append(min(50, len(r) - first)) or real(r, first)
    big = camera_rays(cams[0], 32, 32)  # four times the pixels of a kept view: larger than the budget
    for _ in range(2):
        two.prepare("big", big)
    assert two.too_large == {"big"} and sum(sampled) < len(big)  # sampled once, and only until it overflowed
    assert not two.views  # the kept views were evicted while finding out
    two.prepare(2, rays[2])
    two.prepare("big", big)
    assert list(two.views) == [2]  # later, a too-large view no longer evicts the kept ones


def test_a_leaf_step_moves_a_mid_grey_pixel_as_far_as_a_splat_dc_step():
    """Splats render ``0.5 + C0 · f_dc``: slope C0. The field task's leaf has the same slope at mid-grey, so the
    shared learning rate means the same for both representations."""
    field = _field()
    field.density.fill_(30.0)  # opaque: a pixel's colour is its first samples' colour
    field.colour.zero_()  # mid-grey everywhere
    task = FieldStyleTask(field, _cameras(1, 16), torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16),
                          SceneStyleConfig(size=16), [])
    before = task.render(0).detach()
    with torch.no_grad():
        task.leaf += 1e-3
    slope = (task.render(0).detach() - before) / 1e-3
    covered = render_field(field, _cameras(1, 16), 16, 16).alpha.expand_as(slope) > 0.999
    assert covered.sum() > 100
    assert torch.allclose(slope[covered], torch.full_like(slope[covered], SH_C0), rtol=2e-3)


def test_colour_transfer_moves_opaque_pixels_affinely():
    field = _field()
    field.density.fill_(30.0)  # opaque everywhere: rendered colour = first samples' colour
    A = torch.tensor([[0.6, 0.1, 0.0], [0.0, 0.5, 0.1], [0.1, 0.0, 0.4]])
    b = torch.tensor([0.1, 0.2, 0.15])
    cams = _cameras(1)
    out = render_field(field, cams, 16, 16)
    after = render_field(transfer_field_colours(field, A, b), cams, 16, 16).rgb
    expected = torch.einsum("ij,bjhw->bihw", A, out.rgb) + b.view(1, 3, 1, 1)
    opaque = (out.alpha > 0.999).expand_as(after)
    assert opaque.sum() > 100 and (after - expected)[opaque].abs().max() < 5e-3  # exact at grid points


def test_to_degree0_keeps_the_dc_colour():
    field = _field(degree=2)
    flat = to_degree0(field)
    assert flat.sh_degree == 0 and torch.equal(flat.colour, field.colour[:, :3])


def _small_stylization(steps):
    """A 5³ field, 3 cameras, a random style and a 32 px config of ``steps`` steps."""
    config = SceneStyleConfig(size=32)
    config.loop.steps = steps
    return (_field(res=(5, 5, 5)), _cameras(3, 32), torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5)),
            config)


def test_stylize_scene_on_a_field_trains_colour_only_and_changes_the_renders():
    field, cams, style, config = _small_stylization(3)
    result = stylize_scene(field, style, cams, config=config, progress=False)
    assert torch.equal(result.scene.density, field.density)
    assert len(result.colour_maps) == 2 and result.stylization.optimization.steps_done == 3
    assert not torch.allclose(result.scene.colour, field.colour)


def test_scene_command_takes_a_field_file(tmp_path, style_png):
    from core.cli import main
    from stylize3d.fields.io import load_field, save_field
    from tests.stylize3d.fields.test_field_export import _sphere_field

    field = _sphere_field(res=12)
    path = save_field(field, tmp_path / "ball.safetensors")
    out = tmp_path / "out"
    assert main(["scene", str(path), str(style_png), "-o", str(out), "--orbit", "3", "--size", "32", "--steps", "2",
                 "--video-frames", "0", "--quiet"]) == 0
    stylized = load_field(out / "ball_stylized.safetensors")
    assert torch.equal(stylized.density, field.density) and not torch.equal(stylized.colour, field.colour)
    assert len(list((out / "views").glob("*.png"))) == 3


def _interrupt_at_step(n):
    calls = {"n": 0}

    def term(image, view):
        calls["n"] += 1
        if calls["n"] == n + 1:  # call 1 is the driver's initial evaluation
            raise KeyboardInterrupt
        return {"zero": image.sum() * 0.0}
    return term


def test_interrupted_field_stylization_resumes_onto_the_uninterrupted_result(tmp_path):
    from core.optimize import Checkpoint

    field, cams, style, config = _small_stylization(4)
    straight = stylize_scene(field, style, cams, config=config, progress=False)
    ckpt = Checkpoint(tmp_path / "ckpt.pt", every=1, meta={"test": 1})
    stopped = stylize_scene(field, style, cams, config=config, checkpoint=ckpt, progress=False, terms=[_interrupt_at_step(3)])
    assert stopped.optimization.interrupted and stopped.optimization.steps_done == 2
    assert len(stopped.colour_maps) == 1  # no final colour transfer after Ctrl-C
    resumed = stylize_scene(field, style, cams, config=config, checkpoint=ckpt, resume=True, progress=False)
    assert resumed.optimization.steps_done == 2 and not (tmp_path / "ckpt.pt").exists()
    assert torch.allclose(resumed.scene.colour, straight.scene.colour, atol=1e-5)


def test_a_field_checkpoint_records_the_leaf_scale(tmp_path, style_png, monkeypatch):
    """The checkpoint holds ``colour / LEAF_SCALE``: a run saved under another scale must not resume from it."""
    import stylize3d.cli
    from core.cli import main
    from stylize3d.fields.io import save_field
    from tests.stylize3d.fields.test_field_export import _sphere_field

    path = save_field(_sphere_field(res=12), tmp_path / "ball.safetensors")
    real = stylize3d.cli.stylize_scene
    monkeypatch.setattr(stylize3d.cli, "stylize_scene",
                        lambda *a, **k: real(*a, **{**k, "terms": [_interrupt_at_step(2)]}))
    argv = ["scene", str(path), str(style_png), "-o", str(tmp_path / "out"), "--orbit", "3", "--size", "32",
            "--steps", "3", "--checkpoint-every", "1", "--video-frames", "0", "--quiet"]
    assert main(argv) == 130  # interrupted: the state as of the last step is kept
    state = torch.load(tmp_path / "out" / ".stylize3d_checkpoint.pt", weights_only=True)
    assert state["meta"]["field_leaf_scale"] == LEAF_SCALE and state["step"] == 1
