"""Decoder training: data folders and augmentation, the loss, a loop that learns, checkpoints and resume."""

import pytest
import torch

from core.errors import ConfigError, InputError
from core.image.transforms import adain
from core.nn.decoder import Decoder
from core.nn.vgg import load_vgg19
from core.train.data import Augment, CropStream, colour_jitter, list_images, load_folder
from core.train.loop import STYLE_LAYERS, TrainConfig, Trainer, loss_terms, train_decoder
from core.train.plot import plot_losses, smoothed
from tests.conftest import write_png


def _folder(root, name, count, size=(40, 56)):
    folder = root / name
    folder.mkdir()
    for i in range(count):
        write_png(folder / f"{i}.png", *size, seed=i + 10 * len(name))
    return folder


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        list_images(tmp_path / "nope", "content")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="content folder .* holds no images"):
        list_images(tmp_path / "empty", "content")
    bad = _folder(tmp_path, "bad", 1)
    (bad / "broken.png").write_text("not a png")
    with pytest.raises(InputError, match="style folder .*broken.png.*not an image"):
        load_folder(bad, "style", 512, 32)


def test_load_folder_caps_the_long_side_and_lifts_the_short_side(tmp_path):
    folder = _folder(tmp_path, "c", 1, size=(40, 120))
    _, (img,) = load_folder(folder, "content", max_side=60, min_side=32)
    assert min(img.shape[-2:]) >= 32 and img.shape[1] == 3


def test_crops_have_the_requested_size_and_are_reproducible():
    images = [torch.rand(1, 3, 50, 70), torch.rand(1, 3, 64, 48)]
    a = CropStream(images, Augment(crop=32, scale=(0.5, 1.5), jitter=0.3), seed=3)
    b = CropStream(images, Augment(crop=32, scale=(0.5, 1.5), jitter=0.3), seed=3)
    batch, indices = a.batch(5)
    assert batch.shape == (5, 3, 32, 32) and indices.shape == (5,)
    assert 0 <= float(batch.min()) and float(batch.max()) <= 1
    assert torch.equal(batch, b.batch(5)[0])
    state = a.state()
    first = a.batch(3)[0]
    a.set_state(state)
    assert torch.equal(first, a.batch(3)[0])


def test_crop_without_augmentation_is_a_window_of_the_image():
    image = torch.rand(1, 3, 20, 30)
    crop = CropStream([image], Augment(crop=16, scale=(1.0, 1.0), flip=False), seed=0).sample(0)
    windows = [image[..., i:i + 16, j:j + 16] for i in range(5) for j in range(15)]
    assert any(torch.equal(crop, w) for w in windows)


def test_colour_jitter_known_values():
    image = torch.rand(2, 3, 8, 8) * 0.5
    assert torch.allclose(colour_jitter(image, 1.0, 1.0, 1.0), image)
    assert torch.allclose(colour_jitter(image, 2.0, 1.0, 1.0), image * 2)
    grey = colour_jitter(image, 1.0, 1.0, 0.0)
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
    flat = colour_jitter(image, 1.0, 0.0, 1.0)
    assert torch.allclose(flat, flat[..., :1, :1].expand_as(flat), atol=1e-6)


def test_loss_terms_are_relative_and_the_content_term_vanishes_at_the_target():
    encoder = load_vgg19("cpu", autocast_cpu_bf16=False)
    content, style = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    terms = loss_terms(encoder, Decoder(), content, style, TrainConfig(style_weight=2.0, identity_weight=0.5))
    assert set(terms) == {"content", "style", "identity", "total"}
    expected = terms["content"] + 2.0 * terms["style"] + 0.5 * terms["identity"]
    assert torch.allclose(terms["total"], expected)

    class Oracle(torch.nn.Module):
        """Returns the image whose relu4_1 features are the AdaIN target: the content when style = content."""

        def forward(self, features):
            return content

    same = loss_terms(encoder, Oracle(), content, content, TrainConfig(identity_weight=0.0))
    assert float(same["content"]) < 1e-6 and float(same["style"]) < 1e-6
    target = adain(encoder(content, ["relu4_1"])["relu4_1"], encoder(style, ["relu4_1"])["relu4_1"])
    assert target.shape == (2, 512, 4, 4) and len(STYLE_LAYERS) == 4


def test_reconstruction_only_skips_the_style_terms():
    encoder = load_vgg19("cpu", autocast_cpu_bf16=False)
    terms = loss_terms(encoder, Decoder(), torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32),
                       TrainConfig(content_weight=0, style_weight=0, identity_weight=1))
    assert set(terms) == {"identity", "total"}


def _trainer(config, seed=0):
    images = [torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    augment = Augment(crop=32, scale=(1.0, 1.0), flip=True, jitter=0.1)
    return Trainer(CropStream(images, augment, seed), CropStream(images[::-1], augment, seed + 1), config)


def test_training_lowers_the_loss():
    trainer = _trainer(TrainConfig(iters=12, batch=2, lr=1e-3, style_weight=1.0, identity_weight=1.0))
    result = train_decoder(trainer, progress=False, log_every=1)
    totals = [entry["total"] for entry in result.log]
    assert len(totals) == 12 and result.iterations == 12
    assert sum(totals[-3:]) / 3 < 0.8 * sum(totals[:3]) / 3


def test_resume_continues_exactly_where_the_checkpoint_left(tmp_path):
    config = dict(batch=2, lr=1e-3, checkpoint_every=2, contrastive_weight=0.1)
    straight = train_decoder(_trainer(TrainConfig(iters=4, **config)), progress=False, log_every=1)
    ckpt = tmp_path / "run.ckpt"
    train_decoder(_trainer(TrainConfig(iters=2, **config)), ckpt, progress=False, log_every=1)
    resumed = train_decoder(_trainer(TrainConfig(iters=4, **config)), ckpt, resume=True, progress=False, log_every=1)
    assert [e["iteration"] for e in resumed.log] == [1, 2, 3, 4]
    assert "contrastive" in resumed.log[-1]
    for key, value in straight.decoder.state_dict().items():
        assert torch.allclose(resumed.decoder.state_dict()[key], value, atol=1e-6), key
    with pytest.raises(InputError, match="style-weight"):
        _trainer(TrainConfig(iters=5, style_weight=7.0, **config)).load_checkpoint(ckpt)


def test_config_validation():
    with pytest.raises(InputError, match="nothing to train"):
        TrainConfig(content_weight=0, style_weight=0, identity_weight=0).validate()
    with pytest.raises(InputError, match="batch of at least 2"):
        TrainConfig(batch=1, contrastive_weight=1.0).validate()
    with pytest.raises(ConfigError, match="^lr must be > 0") as info:  # the field's name; the CLI shows --lr
        TrainConfig(lr=0).validate()
    assert info.value.field == "lr"


def test_loss_curve_png_and_smoothing(tmp_path):
    assert smoothed([1, 3, 5, 7], 2) == [1, 2, 4, 6]
    log = [{"iteration": i, "total": 10 / i, "content": 1 / i, "style": 5 / i} for i in range(1, 30)]
    path = plot_losses(log, tmp_path / "curve.png")
    import numpy as np
    from PIL import Image

    colours = {tuple(c) for c in np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).tolist()}
    assert (214, 39, 40) in colours and (31, 119, 180) in colours  # the style and content lines were drawn
