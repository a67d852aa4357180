"""The iterative dataset update replaces exactly the scheduled views; the Instruct-NeRF2NeRF edit matches
diffusers' InstructPix2Pix pipeline when started from the same latent."""

import pytest
import torch

from core.errors import InputError
from core.priors.dataset_update import DatasetUpdate
from core.priors.instruct import instruct_edit_from, ip2p_sample, photo_latent
from core.priors.loading import load_diffusion_model, pipeline_from


def views(count=5):
    return [torch.full((1, 3, 4, 4), i / 10) for i in range(count)]


class Recorder:
    """An editor and a renderer that log their calls; the edit of view v at step s is the value 100·s + v."""

    def __init__(self):
        self.rendered, self.step = [], None

    def render(self, view):
        self.rendered.append(view)
        return torch.full((1, 3, 4, 4), 0.5)

    def edit(self, render, original):
        return torch.full_like(original, 100.0 * self.step) + original[0, 0, 0, 0] * 10


def run(update, steps, recorder, views_trained=None):
    snapshots = []
    for step in range(steps):
        recorder.step = step
        view = None if views_trained is None else views_trained[step]
        before = list(update.targets)
        changed = update.maybe_update(step, view, recorder.render)
        snapshots.append((step, changed, before, list(update.targets)))
    return snapshots


def test_cycle_schedule_replaces_exactly_the_scheduled_views():
    """5 views, every 3 steps, 2 per update: steps 0, 3, 6, 9 edit views [0,1], [2,3], [4,0], [1,2]."""
    recorder = Recorder()
    originals = views()
    update = DatasetUpdate(originals, recorder.edit, every=3, views_per_update=2)
    assert update.target(3) is update.originals[3] and torch.equal(update.originals[3], originals[3])
    snapshots = run(update, 10, recorder)
    expected = {0: [0, 1], 3: [2, 3], 6: [4, 0], 9: [1, 2]}
    for step, changed, before, after in snapshots:
        assert changed == expected.get(step, [])
        for v in range(5):
            if v in changed:
                assert torch.equal(after[v], torch.full((1, 3, 4, 4), 100.0 * step + v))  # edited from view v
            else:
                assert after[v] is before[v]  # untouched views keep the very same tensor
    assert recorder.rendered == [0, 1, 2, 3, 4, 0, 1, 2]
    assert update.history == [(0, 0), (0, 1), (3, 2), (3, 3), (6, 4), (6, 0), (9, 1), (9, 2)]
    assert torch.equal(update.target(0), torch.full((1, 3, 4, 4), 600.0))  # the latest edit wins


def test_current_schedule_edits_the_view_being_trained():
    recorder = Recorder()
    update = DatasetUpdate(views(), recorder.edit, every=2, schedule="current")
    trained = [4, 1, 3, 3, 0, 2]
    snapshots = run(update, 6, recorder, trained)
    assert [changed for _, changed, _, _ in snapshots] == [[4], [], [3], [], [0], []]
    assert update.edited_views() == [0, 3, 4]
    assert all(update.target(v) is update.originals[v] for v in (1, 2))


def test_state_round_trip_resumes_the_schedule():
    recorder = Recorder()
    update = DatasetUpdate(views(), recorder.edit, every=1, views_per_update=2)
    run(update, 2, recorder)
    again = DatasetUpdate(views(), recorder.edit, every=1, views_per_update=2)
    again.load_state_dict(update.state_dict())
    assert again.scheduled(2) == update.scheduled(2) == [4, 0]
    assert all(torch.equal(a, b) for a, b in zip(again.targets, update.targets))


def test_bad_settings_are_input_errors():
    with pytest.raises(InputError, match="at least 1"):
        DatasetUpdate(views(), lambda r, o: r, every=0)
    with pytest.raises(InputError, match="schedule"):
        DatasetUpdate(views(), lambda r, o: r, schedule="random")
    with pytest.raises(InputError, match="at least one training view"):
        DatasetUpdate([], lambda r, o: r)


def test_ip2p_sampling_matches_diffusers_pipeline_from_the_same_latent(tiny_ip2p_dir, images):
    model = load_diffusion_model(tiny_ip2p_dir, "cpu", in_channels=8)
    photo = images[0]
    start = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(3))
    pipe = pipeline_from(model, "StableDiffusionInstructPix2PixPipeline")
    pipe.set_progress_bar_config(disable=True)
    theirs = pipe(prompt="ox", image=photo, num_inference_steps=4, guidance_scale=5.0, image_guidance_scale=1.5,
                  latents=start, output_type="latent").images
    pipe.scheduler.set_timesteps(4)
    with torch.no_grad():
        ours = ip2p_sample(model, start, [int(t) for t in pipe.scheduler.timesteps], "ox",
                           photo_latent(model, photo), 5.0, 1.5)
    assert torch.allclose(ours, theirs.float(), atol=1e-5, rtol=1e-4)
    assert (ours - start).abs().max() > 1e-2  # the steps moved the latent


def test_edit_from_a_render_keeps_its_size_and_a_low_noise_edit_stays_near_the_render(tiny_ip2p_dir, images):
    model = load_diffusion_model(tiny_ip2p_dir, "cpu", in_channels=8)
    render, original = images
    near = instruct_edit_from(model, render, original, "ox", t_range=(0.02, 0.02), steps=50)
    far = instruct_edit_from(model, render, original, "ox", t_range=(0.98, 0.98), steps=10)
    assert near.shape == far.shape == (1, 3, 32, 32)
    with torch.no_grad():
        round_trip = model.decode_latents(model.encode_images(render))
    assert (near - round_trip).abs().mean() < 0.5 * (far - round_trip).abs().mean()


def test_term_edits_on_schedule_pulls_renders_to_targets_and_resumes(tmp_path):
    from core.priors.dataset_update import DatasetUpdateTerm

    recorder = Recorder()
    state = tmp_path / "targets.pt"

    def make():
        update = DatasetUpdate(views(3), lambda render, original: render * 0 + 0.9, every=2)
        return DatasetUpdateTerm(update, recorder.render, weight=2.0, state_path=state)

    term = make()
    image = torch.full((1, 3, 4, 4), 0.3, requires_grad=True)
    with torch.no_grad():
        assert term(image, 1)["edit"].item() == pytest.approx(2.0 * 0.2) and term.step == 0  # measures only
    first = term(image, 1)["edit"]  # step 0: view 0 is edited (cycle), view 1 still has its original 0.1
    assert first.item() == pytest.approx(2.0 * 0.2)
    (grad,) = torch.autograd.grad(first, image)
    assert torch.allclose(grad, torch.full_like(grad, 2.0 / 48))  # d/dx of 2·mean|x − 0.1| at x = 0.3
    assert term(image, 0)["edit"].item() == pytest.approx(2.0 * 0.6)  # step 1: view 0's target is now 0.9
    term(image, 2)  # step 2 edits view 1
    again = make()
    assert again.resume() and again.step == 3 and again.update.edited_views() == [0, 1]
    assert again.update.scheduled(4) == [2]
