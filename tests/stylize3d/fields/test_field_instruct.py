"""``stylize scene FIELD --instruct``: the Instruct-NeRF2NeRF dataset update on a radiance field, with a tiny random
InstructPix2Pix model (8-channel UNet) written by the installed diffusers' ``save_pretrained``."""

from dataclasses import replace

import torch

from core.priors.dataset_update import DatasetUpdateTerm
from core.priors.loading import load_diffusion_model
from core.stylization import LoopConfig
from stylize3d.fields.render import render_field
from stylize3d.instruct import EditConfig, instruct_scene
from stylize3d.scene_style import SceneStyleConfig

from .test_field_stylize import _cameras, _field


def _renders(field, cameras, size=32):
    with torch.no_grad():
        out = render_field(field, cameras, size, size, field.background)
    return out.rgb, out.alpha


def test_field_update_replaces_exactly_the_scheduled_views_and_the_field_follows(tiny_ip2p, monkeypatch):
    model = load_diffusion_model(tiny_ip2p, "cpu", in_channels=8)
    field, cameras = _field(res=(6, 6, 6)), _cameras(3, 32)
    terms = []
    monkeypatch.setattr(DatasetUpdateTerm, "__init__", _recording(DatasetUpdateTerm.__init__, terms))
    config = replace(SceneStyleConfig(size=32, tv_weight=0.0), loop=LoopConfig(steps=24, optimizer="adam", lr=0.3))
    edit = EditConfig(edit_every=12, edit_noise=(0.6, 0.9))
    result, update = instruct_scene(field, cameras, model, "make it red", config, edit,
                                    edit_options=dict(steps=2), progress=False)
    assert update.history == [(0, 0), (12, 1)]  # cycle: views 0 and 1 at steps 0 and 12, view 2 never
    assert terms and terms[0].update is update and terms[0].step == 24  # the one shared term ran every step
    before, alpha = _renders(field, cameras)
    assert torch.equal(update.target(2), update.originals[2]) and torch.allclose(update.originals[2], before[2:3])
    for view in (0, 1):
        assert (update.target(view) - update.originals[view]).abs().mean() > 0.02  # really edited
    after = _renders(result.scene, cameras)[0]
    assert torch.equal(result.scene.density, field.density)  # colour only: the density is frozen
    # the loss to the edited targets falls where the field can change the pixel (opaque; the background is fixed)
    losses = []
    for view in (0, 1):
        target, opaque = update.target(view), (alpha[view:view + 1] > 0.9).expand(1, 3, -1, -1)
        losses.append([(image[view:view + 1] - target).abs()[opaque].mean() for image in (before, after)])
    # measured 0.165 -> 0.114 (view 0, edited at step 0) and 0.161 -> 0.145 (view 1, at step 12), load 12
    assert all(end < start for start, end in losses)
    assert sum(end for _, end in losses) < 0.9 * sum(start for start, _ in losses)

def _recording(init, seen):
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        seen.append(self)
    return wrapped

