"""Command-line arguments every 3D scene command shares: camera sources (``--cameras``, ``--split``,
``--dataparser-transforms``, ``--orbit``), camera paths (``--path``, ``--frames``, ``--elevation``, ``--up``) and
the rendered size. Used by ``stylize scene`` (also with ``--instruct``), ``render`` and ``metrics-3d``; each takes
the parsed ``args`` and returns cameras, so commands never parse cameras themselves."""

from __future__ import annotations

import torch

from core.errors import InputError
from stylize3d.camera_paths import PATH_KINDS, path_around, read_camera_path
from stylize3d.cameras import Cameras
from stylize3d.datasets.runs import SPLITS, load_camera_source
from stylize3d.splats.render import BACKENDS
from stylize3d.stylize import default_cameras


def add_path_options(p, default_frames: int) -> None:
    p.add_argument("--path", default="orbit", help=f"camera path: {' or '.join(PATH_KINDS)} (fitted to --cameras when "
                   "given, else to the scene), 'cameras' (exactly the dataset's cameras, also written as "
                   "<OUT stem>_frames/camera_<i>.png beside the video) or a camera-path .json file (written by "
                   "--save-path, or a nerfstudio viewer camera_path.json)")
    p.add_argument("--cameras", metavar="DATA", default=None,
                   help="cameras of the capture: transforms.json, or a nerfstudio/Blender/3DGS data or run folder "
                        "(used to fit the path; default: the run's own when SCENE is a training run)")
    p.add_argument("--split", choices=SPLITS, default=None,
                   help="with --path cameras: only the training or the held-out cameras (default: all)")
    add_dataparser_option(p)
    p.add_argument("--frames", type=int, default=default_frames, help="frames of the camera path")
    p.add_argument("--size", type=int, default=256, help="long side of the rendered frames in pixels")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="renderer: torch, gsplat (CUDA) or auto")
    p.add_argument("--elevation", type=float, default=None, metavar="DEG",
                   help="camera elevation above the centre in degrees (default: fitted; 25 without --cameras)")
    p.add_argument("--up", type=float, nargs=3, default=None, metavar=("X", "Y", "Z"),
                   help="world up direction for paths fitted to the scene (default +z; from --cameras when given)")


def add_dataparser_option(p) -> None:
    p.add_argument("--dataparser-transforms", metavar="dataparser_transforms.json", default=None,
                   help="nerfstudio's dataparser_transforms.json of the run that trained SCENE: moves --cameras into "
                        "the frame its exported splats use")


def load_cameras(args, downscale: float = 1.0) -> Cameras:
    """``--cameras``, moved by ``--dataparser-transforms`` when given."""
    return load_camera_source(args.cameras, downscale=downscale, dataparser=args.dataparser_transforms)[0]


def check_dataparser_needs_cameras(args) -> None:
    if args.dataparser_transforms and not args.cameras:
        raise InputError("--dataparser-transforms moves the --cameras poses: give --cameras too")


def video_size(cameras: Cameras, long_side: int) -> tuple[int, int]:
    if long_side < 16:
        raise InputError(f"--size {long_side} is too small; use at least 16")
    return cameras.size_for(long_side, even=True)


def camera_path(args, scene, size: int, run_cameras: "Cameras | None" = None,
                 scene_path: "str | None" = None) -> tuple[Cameras, "list | None"]:
    """The camera path of ``--path`` (a kind, ``cameras`` or a JSON file), fitted to ``--cameras`` when given, else
    to the run's training cameras ``run_cameras`` when SCENE (at ``scene_path``) is a training run; with the
    cameras' dataset indices for ``--path cameras`` (else None)."""
    check_dataparser_needs_cameras(args)
    if args.split and args.path != "cameras":
        raise InputError("--split selects dataset cameras: use it with --path cameras")
    if args.path == "cameras":
        return dataset_cameras(args, run_cameras, scene_path)
    if args.path.endswith(".json"):
        return read_camera_path(args.path), None
    up = torch.tensor(args.up, dtype=torch.float64) if args.up else None
    if up is not None and not (torch.isfinite(up).all() and up.norm() > 0):
        raise InputError("--up must be a finite, non-zero direction")
    if args.cameras or run_cameras is not None:
        train = load_cameras(args) if args.cameras else run_cameras
        return path_around(args.path, args.frames, *video_size(train, size), cameras=train, up=up,
                           elevation_deg=args.elevation), None
    return path_around(args.path, args.frames, size, size, scene=scene, up=up, elevation_deg=args.elevation), None


def dataset_cameras(args, run_cameras: "Cameras | None", scene_path: "str | None") -> tuple[Cameras, list]:
    """``--path cameras``: the cameras of ``--cameras`` (its ``--split``), else those of the training run at
    ``scene_path`` (``run_cameras``, or its ``--split``), and their dataset indices."""
    if args.cameras:
        return load_camera_source(args.cameras, split=args.split, dataparser=args.dataparser_transforms)
    if run_cameras is None:
        raise InputError("--path cameras needs --cameras DATA (SCENE is not a training run with cameras)")
    if args.split is None:
        return run_cameras, list(range(len(run_cameras)))
    return load_camera_source(scene_path, split=args.split)


def training_cameras(args, scene, run_cameras: "Cameras | None" = None) -> Cameras:
    """The views ``stylize scene`` trains on: ``--cameras`` (intrinsics divided by ``--downscale``), else the
    training run's own (``run_cameras``) unless ``--orbit N`` is given, else ``--orbit`` views (default
    :data:`~stylize3d.stylize.DEFAULT_ORBIT_VIEWS`) on an orbit fitted to ``scene`` at ``--size`` px."""
    check_dataparser_needs_cameras(args)
    if args.cameras:
        return load_cameras(args, downscale=args.downscale)
    if args.orbit is not None and args.orbit < 2:
        raise InputError(f"--orbit needs at least 2 views, got {args.orbit}")
    if args.orbit is None:
        return default_cameras(scene, args.size, run_cameras)
    return default_cameras(scene, args.size, views=args.orbit)
