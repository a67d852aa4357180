"""The 3D front end: stylize captured scenes — Gaussian splats and radiance fields — and render stylized
novel-view videos.

What lives here (the README's "Code map" has the import rules):

- shared by every representation: :mod:`.cameras` (pinhole cameras, OpenCV convention), :mod:`.rotations`,
  :mod:`.sh` (spherical harmonics), :mod:`.camera_paths` (orbit/ellipse/spiral, interpolated keyframes, path
  JSON), :mod:`.consistency` (reprojection metrics), :mod:`.video`;
- :mod:`.representations`: the one scene dispatch, a registry of representations that load, save, render,
  stylize, edit and fit their scenes; :mod:`.splats` (3DGS scenes, PLY, renderers, fit, stylize task) and
  :mod:`.fields` (grid radiance field, volume renderer, fit, stylize task, mesh/splat export) register there;
- :mod:`.scene_style` (settings and result shared by every stylization), :mod:`.stylize` (one
  :func:`stylize_scene` for every representation), :mod:`.instruct` (text edits, Instruct-NeRF2NeRF / GS2GS),
  :mod:`.fitting` (:func:`fit` any representation to photos);
- :mod:`.datasets` (Blender/NeRF-synthetic, nerfstudio, COLMAP data; nerfstudio, 3DGS and gsplat runs),
  :mod:`.capture` (photos or a video → posed data with pycolmap), :mod:`.viewer` (``stylize view``, viser),
  :mod:`.nerfstudio` (the ``stylize-splat`` nerfstudio method);
- the commands: :mod:`.cli` (``scene``, ``render``, ``metrics-3d``) with :mod:`.scene_args`,
  :mod:`.scene_outputs`, :mod:`.instruct_cli`; :mod:`.fit_cli` (``fit``); ``capture``, ``export`` and ``view``
  beside what they run.

    from stylize3d import load_scene, render, save_scene, stylize_scene
    result = stylize_scene("scenes/splats/sample_scene.ply", "scenes/images/starry_night.jpg", steps=20, size=64)
    save_scene(result.scene, "stylized.ply")

The names below are imported on first use, so ``import stylize3d`` does not import torch.
"""

import importlib

_EXPORTS = {"load_scene": "stylize3d.representations", "save_scene": "stylize3d.representations",
            "render": "stylize3d.representations:render_scene", "stylize_scene": "stylize3d.stylize",
            "fit": "stylize3d.fitting"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'stylize3d' has no attribute {name!r}")
    module, _, attr = _EXPORTS[name].partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value
