"""Fit a 3D representation to posed photos from Python: :func:`fit` (``stylize fit`` is the command).

    from stylize3d import fit, save_scene
    scene = fit("data/lego", model="field", steps=3000)
    save_scene(scene, "lego.safetensors")
"""

from __future__ import annotations

import os
from typing import Union

import torch

from core.errors import InputError
from stylize3d.datasets.posed import PosedDataset, load_posed_dataset
from stylize3d.representations import representations


def fit(data: Union[str, os.PathLike, PosedDataset], model: str = "field", device="cpu", downscale: float = 1.0,
        progress: bool = True, **config):
    """The scene of representation ``model`` (``"field"``, ``"splats"``, or a plug-in's) fitted to ``data``: a
    Blender/NeRF-synthetic, nerfstudio or COLMAP folder (read with ``downscale``) or a loaded
    :class:`~stylize3d.datasets.posed.PosedDataset`. ``config``: the model's fit settings by plain name
    (``FieldFitConfig`` / ``SplatFitConfig`` fields, e.g. ``steps=2000``; ``minutes=10`` is a wall-clock budget
    the schedules spread over, :mod:`stylize3d.fit_budget`). Ctrl-C returns the scene so far."""
    if model not in representations():
        raise InputError(f"unknown model {model!r}; choose from {', '.join(sorted(representations()))}")
    source = None if isinstance(data, PosedDataset) else data
    dataset = data if source is None else load_posed_dataset(source, downscale=downscale)
    if not dataset.split["train"]:
        raise InputError(f"{source or 'the dataset'}: no training views")
    return representations()[model].fit(dataset, torch.device(device), source=source, progress=progress, **config)
