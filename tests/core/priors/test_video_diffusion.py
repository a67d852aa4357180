"""The video diffusion prior on tiny random models: extended attention mixes keyframes (and is plain self-attention
for one), propagation follows correspondences exactly, keyframe scheduling, memory flat in clip length, and the
``stylize video --method diffusion`` command (outputs, report, Ctrl-C/resume, refusals)."""

import gc
import json
import warnings

import pytest
import torch

from core.cli import main
from core.io.images import load_image, save_image
from core.priors.attention import SelfAttention, installed_processors, self_attention_layers
from core.priors.extended_attention import KeyframeAttention, KeyframeStore, RowLayout, chunked_attention
from core.priors.keyframes import KeyframeSelector, keyframe_chunks
from core.priors.propagation import Neighbours, PropagationAttention, nearest_tokens, propagate
from core.priors.video_diffusion import VideoDiffusion, VideoDiffusionSettings, unet_rows_per_frame
from core.priors.video_diffusion_cli import find_cuts
from core.priors.video_edits import InstructEdit, StyleEdit

STEPS = 2


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def first_attention(model):
    """The first self-attention module of the tiny UNet and its processor name."""
    name = self_attention_layers(model.unet, "all")[0]
    return model.unet.get_submodule(name.removesuffix(".processor")), name


def texture(index=0, side=32, shift=0):
    """A smooth random-looking texture ``1,3,side,side`` (seeded by ``index``), moved right by ``shift`` pixels."""
    g = torch.Generator().manual_seed(index)
    coarse = torch.rand(1, 3, side // 4, side // 4, generator=g)
    image = torch.nn.functional.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False)
    return torch.roll(image.clamp(0, 1), shifts=shift, dims=-1)


# -- extended attention -----------------------------------------------------------------------------------------

def test_keyframe_output_changes_when_another_keyframe_changes_and_the_anchor_does_not(tiny_model):
    attn, name = first_attention(tiny_model)
    tokens, channels = 64, attn.to_q.in_features
    g = torch.Generator().manual_seed(1)
    source = torch.randn(3, tokens, channels, generator=g)
    edit = torch.randn(3, tokens, channels, generator=g)  # rows: anchor, A, B
    processor = KeyframeAttention(name, RowLayout(frames=3), KeyframeStore())
    with torch.no_grad():
        before = processor(attn, torch.cat([source, edit]))
        changed = edit.clone()
        changed[2] += torch.randn(tokens, channels, generator=g)
        after = processor(attn, torch.cat([source, changed]))
        plain = SelfAttention()(attn, torch.cat([source, edit]))
    assert torch.equal(before[:3], plain[:3])  # source rows: plain self-attention
    assert torch.allclose(before[3], plain[3], atol=1e-6) and torch.allclose(after[3], before[3], atol=1e-6)
    assert (after[4] - before[4]).abs().max() > 1e-2  # keyframe A follows keyframe B
    assert (before[4] - plain[4]).abs().max() > 1e-2


def test_extended_attention_is_attention_over_all_keyframes_tokens_and_chunking_changes_nothing(tiny_model):
    attn, name = first_attention(tiny_model)
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, attn.heads, 50, 8, generator=g) for _ in range(3))
    keys, values = torch.cat([k, torch.flip(k, [2])], dim=2), torch.cat([v, -v], dim=2)
    expected = torch.softmax(q @ keys.transpose(-1, -2) * attn.scale, dim=-1) @ values
    assert torch.allclose(chunked_attention(attn, q, keys, values, chunk=7), expected, atol=1e-5)


def test_a_single_keyframe_gets_plain_self_attention(tiny_model):
    attn, name = first_attention(tiny_model)
    hidden = torch.randn(2, 64, attn.to_q.in_features, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = KeyframeAttention(name, RowLayout(frames=1), chunk=5)(attn, hidden)
        plain = SelfAttention()(attn, hidden)
    assert torch.allclose(ours, plain, atol=1e-6)


def test_in_the_unet_a_keyframes_noise_depends_on_the_other_keyframe(tiny_model, images):
    """Processors installed in the UNet: keyframe A's noise estimate moves when keyframe B's latent changes; with
    diffusers' own processors it does not."""
    edit = StyleEdit(tiny_model, images[1], STEPS)
    g = torch.Generator().manual_seed(4)
    source, x = torch.randn(3, 4, 16, 16, generator=g), torch.randn(3, 4, 16, 16, generator=g)
    x_changed = x.clone()
    x_changed[2] = torch.randn(4, 16, 16, generator=g)
    processors = {name: KeyframeAttention(name, RowLayout(3, 1, 1)) for name in
                  self_attention_layers(tiny_model.unet, "all")}
    with torch.no_grad():
        with installed_processors(tiny_model.unet, processors):
            eps, eps_changed = (edit.noise(0, 901, source, latents, None, True) for latents in (x, x_changed))
        alone = edit.noise(0, 901, source, x, None, True)
        alone_changed = edit.noise(0, 901, source, x_changed, None, True)
    assert torch.allclose(eps[0], eps_changed[0], atol=1e-6)  # the anchor attends to itself only
    assert (eps[1] - eps_changed[1]).abs().max() > 1e-4
    assert torch.allclose(alone[1], alone_changed[1], atol=1e-6)  # plain self-attention: independent


# -- propagation ------------------------------------------------------------------------------------------------

def field_tokens(field):
    """``C,H,W`` → tokens ``H·W,C`` (row-major, as the UNet's)."""
    return field.flatten(1).t()


def test_propagation_reproduces_the_keyframe_at_the_keyframe():
    g = torch.Generator().manual_seed(5)
    features = torch.randn(2, 64, 16, generator=g)
    outputs = torch.randn(3, 2, 64, 16, generator=g)
    out = propagate(features[0], features, outputs, Neighbours(0, 1, 0.0), chunk=10)
    assert torch.equal(out, outputs[:, 0])
    assert torch.equal(nearest_tokens(features[1], features[1], chunk=9), torch.arange(64))


def test_propagation_follows_a_known_shift_of_a_moving_pattern():
    """Source features of a pattern moving 1 px right per frame; keyframes at frames 0 and 2: frame 1's output is
    the keyframe outputs moved by +1 and −1 px, blended half and half."""
    g = torch.Generator().manual_seed(6)
    pattern = torch.randn(16, 8, 8, generator=g)
    frame = [field_tokens(torch.roll(pattern, shifts=s, dims=-1)) for s in range(3)]
    key_outputs = torch.randn(1, 2, 16, 8, 8, generator=g)
    keys = torch.stack([frame[0], frame[2]])
    outputs = torch.stack([field_tokens(key_outputs[0, 0]), field_tokens(key_outputs[0, 1])])[None]
    out = propagate(frame[1], keys, outputs, Neighbours(0, 1, 0.5))
    expected = 0.5 * torch.roll(key_outputs[0, 0], 1, dims=-1) + 0.5 * torch.roll(key_outputs[0, 1], -1, dims=-1)
    assert torch.allclose(out[0], field_tokens(expected), atol=1e-6)


def test_propagation_processor_attends_plainly_on_source_rows_and_propagates_edit_rows(tiny_model):
    attn, name = first_attention(tiny_model)
    g = torch.Generator().manual_seed(7)
    store = KeyframeStore()
    store.features[name] = torch.randn(2, 64, attn.to_q.in_features, generator=g)
    store.outputs[name] = torch.randn(1, 2, 64, attn.to_q.in_features, generator=g)
    processor = PropagationAttention(name, store)
    processor.layout, processor.neighbours = RowLayout(frames=1), [Neighbours(0, 1, 0.25)]
    hidden = torch.randn(2, 64, attn.to_q.in_features, generator=g)
    with torch.no_grad():
        out = processor(attn, hidden)
        plain = SelfAttention()(attn, hidden[:1])
    assert torch.allclose(out[:1], plain, atol=1e-6)
    assert torch.equal(out[1], propagate(hidden[0], store.features[name], store.outputs[name],
                                         Neighbours(0, 1, 0.25))[0])


# -- keyframes and chunks ---------------------------------------------------------------------------------------

def test_keyframes_every_k_and_at_scene_cuts_in_chunks_of_fixed_batches():
    frames = [0.1 + 0.2 * texture(0, side=16, shift=i) for i in range(5)]  # a dark shot, then a bright one
    frames += [0.7 + 0.2 * texture(1, side=16, shift=i) for i in range(6)]
    cuts = find_cuts(iter(frames), None)
    assert cuts == [5] and find_cuts(iter(frames), 0) == []
    chunks = list(keyframe_chunks(iter(frames), KeyframeSelector(every=3, cuts=cuts), batch=2))
    keys = sorted({c.frames[k].index for c in chunks for k in c.keyframes})
    assert keys == [0, 3, 5, 8, 10]  # every 3, the cut at 5 restarts the count, the last frame
    assert [[f.index for f in c.frames] for c in chunks] == [list(range(6)), list(range(5, 11))]
    assert [c.written for c in chunks] == [5, 6]  # frame 5 closes chunk 1 and is written by chunk 2
    first = chunks[0]
    assert first.neighbours(1) == Neighbours(0, 1, 1 / 3)
    assert first.neighbours(4) == Neighbours(1, 2, 0.0)  # the next keyframe is across the cut


def test_a_still_clip_edits_every_frame_alike(tiny_model, images):
    """Identical frames: the frames between keyframes copy the keyframes' attention outputs token for token, so
    every edited frame is the same."""
    still = [texture(0)] * 5
    pipeline = VideoDiffusion(StyleEdit(tiny_model, images[1], STEPS),
                              VideoDiffusionSettings(steps=STEPS, keyframe_every=4, keyframe_batch=1))
    out = list(pipeline.frames(iter(still)))
    assert len(out) == 5 and pipeline.stats.keyframes == 2
    for frame in out[1:]:
        assert (frame - out[0]).abs().max() < 1e-4
    assert (out[0] - still[0]).abs().mean() > 1e-2  # it is an edit


def test_one_keyframe_per_batch_without_anchor_edits_frames_independently(tiny_model, images):
    settings = VideoDiffusionSettings(steps=STEPS, keyframe_every=1, keyframe_batch=1, anchor=False)
    edit = StyleEdit(tiny_model, images[1], STEPS)
    clip = [texture(i) for i in range(3)]
    together = list(VideoDiffusion(edit, settings).frames(iter(clip)))
    alone = list(VideoDiffusion(edit, settings).frames(iter(clip[1:2])))
    assert torch.allclose(together[1], alone[0], atol=1e-5)


def live_tensor_bytes(exclude: set) -> int:
    """Bytes of the distinct tensor storages alive now, except those whose data pointers are in ``exclude``."""
    seen, total = set(exclude), 0
    with warnings.catch_warnings():  # isinstance on torch's deprecated module attributes warns
        warnings.simplefilter("ignore", FutureWarning)
        tensors = [obj for obj in gc.get_objects() if torch.is_tensor(obj)]
    for obj in tensors:
        if obj.device.type == "cpu":
            storage = obj.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
    return total


def test_memory_does_not_grow_with_the_number_of_frames(tiny_model, images):
    """Peak bytes of live tensors (sampled at decodes) beyond those alive before: 65 frames ≈ 17 frames (both end
    with a full chunk of 9 frames: keyframes every 4, 2 per batch)."""
    edit = StyleEdit(tiny_model, images[1], STEPS)
    baseline = {t.untyped_storage().data_ptr() for t in gc.get_objects() if type(t) is torch.nn.Parameter}
    baseline |= {t.untyped_storage().data_ptr() for t in gc.get_objects() if type(t) is torch.Tensor}

    settings = VideoDiffusionSettings(steps=1, keyframe_every=4, keyframe_batch=2)

    def peak(count):
        samples = []
        decodes = []

        def sample(*unused):  # every third decode (a scan of all objects takes a while)
            decodes.append(1)
            if len(decodes) % 3 == 1:
                samples.append(live_tensor_bytes(baseline))

        handle = tiny_model.vae.decoder.register_forward_hook(sample)
        try:
            frames = (texture(i % 4, shift=i) for i in range(count))
            pipeline = VideoDiffusion(edit, settings)
            written = sum(1 for _ in pipeline.frames(frames))
        finally:
            handle.remove()
        assert written == count
        rows.append(pipeline.stats.unet_rows)
        return max(samples)

    rows = []

    short, long = peak(17), peak(65)
    per_frame = 3 * 32 * 32 * 4 + STEPS * 4 * 16 * 16 * 4  # one frame and its latents, float32
    print(f"peak live tensor bytes: 17 frames {short}, 65 frames {long}; one frame {per_frame}")
    assert long <= 1.05 * short + per_frame, (short, long)
    assert short > 8 * per_frame  # the measurement sees the chunk that is held
    # the UNet rows counted: chunk 1 (frames 0-8): 9 inverted, keyframe call 1 + 3·2, 6 frames between in calls
    # of 4 + 2 (2 rows each); each of the 7 later chunks one more keyframe row (the anchor) — the estimate's rate
    assert rows[1] == 9 + 7 + 12 + 7 * (9 + 9 + 12)
    assert unet_rows_per_frame(settings, groups=1, extra=1) * 8 == 30


# -- InstructPix2Pix --------------------------------------------------------------------------------------------

def test_instruct_edit_runs_three_guidance_rows_per_frame_plus_a_source_row(tiny_ip2p_dir):
    from core.priors.loading import load_diffusion_model

    model = load_diffusion_model(tiny_ip2p_dir, "cpu", in_channels=8)
    rows = []
    handle = model.unet.register_forward_pre_hook(lambda m, args: rows.append(args[0].shape))
    try:
        pipeline = VideoDiffusion(InstructEdit(model, "ox"), VideoDiffusionSettings(steps=STEPS, keyframe_every=2,
                                                                                    keyframe_batch=1))
        out = list(pipeline.frames(iter([texture(i) for i in range(3)])))
    finally:
        handle.remove()
    assert len(out) == 3 and out[0].shape == (1, 3, 32, 32)
    assert all(shape[1] == 8 for shape in rows)
    # inversion of 3 frames (one batch) for STEPS; per step one keyframe call (frames 0, 2: 2 × 4 rows) and one
    # call for frame 1 (4 rows)
    assert sorted(shape[0] for shape in rows) == sorted([3] * STEPS + [8] * STEPS + [4] * STEPS)
    assert pipeline.stats.unet_rows == 3 * STEPS + 12 * STEPS and pipeline.stats.chunks == 1


# -- the command ------------------------------------------------------------------------------------------------

@pytest.fixture
def clip_folder(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in range(6):
        save_image(texture(0, shift=i), folder / f"{i:04d}.png")
    return folder


def run_video(clip_folder, style_or_instruct, model, out, *extra):
    return main(["video", str(clip_folder), *style_or_instruct, "--method", "diffusion", "--model", str(model),
                 "-o", str(out), "--size", "32", "--ddim-steps", str(STEPS), "--keyframe-every", "2",
                 "--keyframe-batch", "1", "--consistency", "none", "--device", "cpu", "--quiet", *extra])


def test_video_command_writes_every_frame_and_reports(tiny_model_dir, clip_folder, images, tmp_path):
    save_image(images[1], tmp_path / "style.png")
    out, report = tmp_path / "out", tmp_path / "report.json"
    assert run_video(clip_folder, [str(tmp_path / "style.png")], tiny_model_dir, out, "--report", str(report)) == 0
    assert len(sorted(out.glob("*.png"))) == 6
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["method"] == "diffusion" and metrics["keyframes"] == 6 and metrics["chunks"] == 3
    assert metrics["seconds_per_frame"] > 0 and metrics["peak_memory_mb"] > 0


def test_ctrl_c_keeps_finished_chunks_and_resume_matches_an_uninterrupted_run(tiny_ip2p_dir, clip_folder, tmp_path,
                                                                              monkeypatch):
    instruct = ["--instruct", "ox"]
    full = tmp_path / "full"
    assert run_video(clip_folder, instruct, tiny_ip2p_dir, full) == 0
    real = VideoDiffusion.edit_chunk
    calls = []

    def interrupt_second_chunk(self, chunk, size):
        calls.append(chunk.frames[0].index)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, chunk, size)

    monkeypatch.setattr(VideoDiffusion, "edit_chunk", interrupt_second_chunk)
    out = tmp_path / "out"
    assert run_video(clip_folder, instruct, tiny_ip2p_dir, out) == 130
    assert len(list(out.glob("*.png"))) == 2  # the first chunk (frames 0, 1)
    monkeypatch.setattr(VideoDiffusion, "edit_chunk", real)
    assert run_video(clip_folder, instruct, tiny_ip2p_dir, out, "--resume") == 0
    finished, reference = sorted(out.glob("*.png")), sorted(full.glob("*.png"))
    assert len(finished) == 6
    for a, b in zip(finished, reference):
        assert torch.equal(load_image(a), load_image(b))


@pytest.mark.parametrize("model_args, message", [
    ([], "--method diffusion needs --model PATH"),
    (["--model", "no/such/folder"], "does not exist"),
])
def test_bad_model_is_one_line_exit_2(clip_folder, images, tmp_path, capsys, model_args, message):
    save_image(images[1], tmp_path / "style.png")
    out = tmp_path / "out.mp4"
    code = main(["video", str(clip_folder), str(tmp_path / "style.png"), "--method", "diffusion", *model_args,
                 "-o", str(out), "--size", "32", "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()
