import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import InputError
from core.io import image_files
from core.io.image_files import read_rgb
from core.io.images import load_image, load_mask, resize_long_side, save_image


def test_round_trip_png_exact(tmp_path):
    img = torch.randint(0, 256, (1, 3, 20, 30)).float() / 255
    save_image(img, tmp_path / "a.png")
    assert torch.equal(load_image(tmp_path / "a.png"), img)
    assert not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P", "CMYK", "LA"])
def test_modes_are_converted(tmp_path, mode):
    rgb = Image.new("RGB", (20, 16), (200, 100, 50))
    if mode == "I;16":
        src = Image.fromarray(np.full((16, 20), 40000, dtype=np.uint16))
        expected = 40000 / 65535
    elif mode == "RGBA":
        src = Image.new("RGBA", (20, 16), (200, 100, 50, 0))  # fully transparent -> white
        expected = 1.0
    elif mode == "LA":
        src = Image.new("LA", (20, 16), (100, 255))
        expected = 100 / 255
    elif mode == "L":
        src = rgb.convert("L")
        expected = src.getpixel((0, 0)) / 255
    else:
        src = rgb.convert(mode)
        expected = None
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    src.save(path)
    out = load_image(path)
    assert out.shape == (1, 3, 16, 20) and out.dtype == torch.float32
    if expected is not None:
        assert torch.allclose(out, torch.full_like(out, expected), atol=1 / 255)
    else:
        assert torch.allclose(out[0, :, 0, 0], torch.tensor([200, 100, 50]) / 255, atol=0.08)


def test_long_side_resize_and_mask(tmp_path):
    Image.new("RGB", (200, 100), (10, 20, 30)).save(tmp_path / "w.png")
    assert load_image(tmp_path / "w.png", long_side=64).shape == (1, 3, 32, 64)
    assert resize_long_side(torch.rand(1, 3, 10, 40), 20).shape == (1, 3, 5, 20)
    Image.new("L", (50, 50), 255).save(tmp_path / "m.png")
    mask = load_mask(tmp_path / "m.png", (8, 9))
    assert mask.shape == (1, 1, 8, 9) and torch.allclose(mask, torch.ones_like(mask))


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match="directory"):
        load_image(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="not an image"):
        load_image(tmp_path / "notes.txt")
    Image.new("RGB", (1, 1)).save(tmp_path / "tiny.png")
    with pytest.raises(InputError, match="1x1"):
        load_image(tmp_path / "tiny.png")
    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "ok.jpg", quality=95)
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(tmp_path / "trunc.jpg")


def test_pixel_limit_suggests_size(tmp_path, monkeypatch):
    Image.new("RGB", (100, 80)).save(tmp_path / "big.png")
    monkeypatch.setattr(image_files, "MAX_WORKING_PIXELS", 5000)
    for read in (load_image, read_rgb):
        with pytest.raises(InputError, match="--size"):
            read(tmp_path / "big.png")
    assert load_image(tmp_path / "big.png", long_side=64).shape[-1] == 64
    assert read_rgb(tmp_path / "big.png", long_side=64).shape == (51, 64, 3)


def test_the_torch_free_reader_matches_load_image(tmp_path):
    """read_rgb (numpy, PIL resampling) gives load_image's size, refuses what it refuses with the same message, and
    agrees on the pixels up to the two bicubic filters' difference."""
    rng = np.random.default_rng(3)
    smooth = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize((120, 90), Image.BILINEAR)
    smooth.save(tmp_path / "smooth.png")
    ours, theirs = read_rgb(tmp_path / "smooth.png", long_side=48), load_image(tmp_path / "smooth.png", long_side=48)
    assert ours.shape == (36, 48, 3) and ours.dtype == np.float32
    assert np.abs(ours - theirs[0].permute(1, 2, 0).numpy()).mean() < 0.01
    unresized = load_image(tmp_path / "smooth.png")[0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(read_rgb(tmp_path / "smooth.png"), unresized)
    Image.new("RGB", (10, 40)).save(tmp_path / "thin.png")
    messages = []
    for read in (load_image, read_rgb):
        with pytest.raises(InputError) as caught:
            read(tmp_path / "thin.png")
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "at least 16x16" in messages[0]


def test_save_rejects_unknown_extension_without_leaving_files(tmp_path):
    with pytest.raises(InputError, match="extension"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "out.xyz")
    assert list(tmp_path.iterdir()) == []


def test_outputs_get_the_usual_file_mode(tmp_path):
    import os
    save_image(torch.rand(1, 3, 4, 4), tmp_path / "m.png")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "m.png").stat().st_mode & 0o777 == 0o666 & ~mask
