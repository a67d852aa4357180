"""The 3D front end's command table for the ``stylize`` CLI (entry point ``stylize.commands``; contract:
:mod:`core.cli`). Imports nothing heavy: ``stylize --help`` reads it without importing the commands."""

from core.cli import Command

COMMANDS = {
    "scene": Command("stylize a 3D scene (splats, radiance field, nerfstudio/3DGS run) after a picture",
                     "stylize3d.cli:register_scene"),
    "render": Command("render a 3D scene (splats or radiance field) along a camera path to a video",
                      "stylize3d.cli:register_render"),
    "metrics-3d": Command("view consistency (reprojection RMSE) of an original and a stylized scene",
                          "stylize3d.cli:register_metrics"),
    "capture": Command("photos or a video -> posed dataset (COLMAP poses, nerfstudio layout)",
                       "stylize3d.capture.cli:register"),
    "export": Command("export a radiance field as a mesh (.ply/.glb/.obj) or 3DGS splats (.ply)",
                      "stylize3d.fields.export_cli:register"),
    "fit": Command("fit a 3D scene (radiance field or Gaussian splats) to posed photos", "stylize3d.fit_cli:register"),
    "view": Command("interactive browser viewer for 3D scenes (splats, radiance fields; compare, camera paths)",
                    "stylize3d.viewer.cli:register"),
}
