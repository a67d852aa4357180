"""3D Gaussian splat front end: scenes (PLY), cameras and camera paths, renderers, the stylizer and its CLI.

Layout: :mod:`.scene` (parameters), :mod:`.ply` (3DGS PLY I/O), :mod:`.cameras` (pinhole cameras, transforms.json),
:mod:`.camera_paths` (orbit/spiral/interpolation, path JSON), :mod:`.render` (one ``render()`` entry, torch and
gsplat backends), :mod:`.stylizer`, :mod:`.consistency` (reprojection metrics), :mod:`.cli`, :mod:`.demo`,
:mod:`.sample_scene` (generator of the bundled scene).
"""
