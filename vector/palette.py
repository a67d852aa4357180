"""Colour palettes: k-means on pixels or colours, and snapping a scene's paints to a palette."""

from __future__ import annotations

import torch

from vector.model import Gradient, Scene, SolidPaint


def kmeans_colours(pixels: torch.Tensor, k: int, iterations: int = 20, seed: int = 0) -> torch.Tensor:
    """``k`` cluster centres (k, 3) of ``pixels`` (N, 3) in [0, 1] (k-means++-style seeding, Lloyd steps)."""
    if k < 1:
        raise ValueError("palette size must be at least 1")
    pixels = pixels.detach().float()
    generator = torch.Generator().manual_seed(seed)
    centres = pixels[torch.randint(len(pixels), (1,), generator=generator)]
    while centres.shape[0] < min(k, len(pixels)):
        d2 = torch.cdist(pixels, centres).amin(1).pow(2)
        pick = torch.multinomial(d2 + 1e-12, 1, generator=generator) if d2.sum() > 0 else torch.randint(len(pixels), (1,), generator=generator)
        centres = torch.cat([centres, pixels[pick]])
    for _ in range(iterations):
        label = torch.cdist(pixels, centres).argmin(1)
        sums = torch.zeros_like(centres).index_add_(0, label, pixels)
        counts = torch.bincount(label, minlength=centres.shape[0])[:, None]
        centres = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
    return centres


def image_palette(image: torch.Tensor, k: int, seed: int = 0, max_pixels: int = 20000) -> torch.Tensor:
    """Palette (k, 3) of an image ``1,3,H,W`` in [0, 1] (random subsample of its pixels)."""
    pixels = image[0].reshape(3, -1).T
    if pixels.shape[0] > max_pixels:
        pick = torch.randperm(pixels.shape[0], generator=torch.Generator().manual_seed(seed))[:max_pixels]
        pixels = pixels[pick]
    return kmeans_colours(pixels, k, seed=seed)


def colour_tensors(scene: Scene) -> list:
    """The (…, 3) colour tensors of the scene's non-frozen paints, each once."""
    out, seen = [], set()
    for shape in scene.shapes:
        if shape.frozen:
            continue
        for paint in (shape.fill, shape.stroke):
            tensor = paint.rgb if isinstance(paint, SolidPaint) else paint.stop_rgb if isinstance(paint, Gradient) else None
            if tensor is not None and id(tensor) not in seen:
                seen.add(id(tensor))
                out.append(tensor)
    return out


def palette_pull_loss(colours: list, palette: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of every colour to its nearest palette entry (a pull towards the palette)."""
    stacked = torch.cat([c.reshape(-1, 3) for c in colours])
    return torch.cdist(stacked, palette.to(stacked)).amin(1).pow(2).mean()


@torch.no_grad()
def snap_to_palette(scene: Scene, palette: torch.Tensor) -> None:
    """Replace every paint colour of the scene by its nearest palette colour (in place)."""
    for tensor in colour_tensors(scene):
        flat = tensor.reshape(-1, 3)
        nearest = torch.cdist(flat, palette.to(flat)).argmin(1)
        tensor.copy_(palette.to(flat)[nearest].reshape(tensor.shape))


def reduce_palette(scene: Scene, k: int, seed: int = 0) -> torch.Tensor:
    """Cluster the scene's own colours into ``k`` and snap to them; returns the palette (k, 3)."""
    colours = colour_tensors(scene)
    if not colours:
        return torch.zeros(0, 3)
    palette = kmeans_colours(torch.cat([c.detach().reshape(-1, 3) for c in colours]), k, seed=seed)
    snap_to_palette(scene, palette)
    return palette
