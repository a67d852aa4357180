"""Assemble the decoder's training corpus (the data of core/nn/weights/MODEL_CARD.md) into one folder.

Development tool, not part of the product: it reads the project's sample data (``--shared``, the folder that holds
``content/``, ``styles/`` and ``video/bbb_frames/``) and scikit-image's bundled sample photographs, and writes
``OUT/content`` and ``OUT/styles``. The held-out pair of the quality measurements (``stone_house.png``,
``wheat_field_cypresses.jpg``) is left out. Licences: ``--shared``'s ``SOURCES.md`` and scikit-image's data notes.

    .venv/bin/python benchmarks/make_training_corpus.py --shared ../shared/data -o build/train_corpus
"""

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

HELD_OUT = {"stone_house.png", "wheat_field_cypresses.jpg"}
SKIMAGE_SAMPLES = ("astronaut", "brick", "camera", "coffee", "coins", "grass", "gravel", "hubble_deep_field",
                   "immunohistochemistry")
"""scikit-image sample images that ship inside the package (no download)."""


def copy_images(source: Path, target: Path) -> int:
    count = 0
    for path in sorted(source.iterdir()):
        if path.suffix.lower() in (".png", ".jpg", ".jpeg") and path.name not in HELD_OUT:
            shutil.copy2(path, target / path.name)
            count += 1
    return count


def write_skimage_samples(target: Path) -> int:
    from skimage import data

    for name in SKIMAGE_SAMPLES:
        pixels = np.asarray(getattr(data, name)())
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        Image.fromarray(pixels[..., :3].astype(np.uint8)).save(target / f"skimage_{name}.png")
    return len(SKIMAGE_SAMPLES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, required=True, help="the sample-data folder (content/, styles/, video/)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="corpus folder to create")
    args = parser.parse_args()
    content, styles = args.output / "content", args.output / "styles"
    content.mkdir(parents=True, exist_ok=True)
    styles.mkdir(parents=True, exist_ok=True)
    photos = copy_images(args.shared / "content", content)
    shutil.copy2(args.shared / "video" / "bbb_frames" / "frame_0001.jpg", content / "bbb_0001.jpg")
    photos += 1 + write_skimage_samples(content)
    paintings = copy_images(args.shared / "styles", styles)
    print(f"{args.output}: {photos} content images, {paintings} style images (held out: {', '.join(sorted(HELD_OUT))})")


if __name__ == "__main__":
    main()
