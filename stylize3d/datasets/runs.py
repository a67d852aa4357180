"""Scenes and cameras from whatever a user has on disk: a splat ``.ply`` or a finished training run.

:func:`load_scene_source` is the one dispatch from "a scene path" to ``(GaussianScene, cameras or None)``:

* a 3DGS ``.ply`` (Inria, ``ns-export gaussian-splat``, gsplat export): the scene, no cameras;
* a nerfstudio splatfacto run: ``outputs/<exp>/splatfacto/<timestamp>/config.yml`` or that folder. The latest
  ``nerfstudio_models/step-<N>.ckpt`` is read with ``torch.load`` (weights only; Gaussians under
  ``pipeline["_model.gauss_params.{means,scales,quats,features_dc,features_rest,opacities}"]``), the training
  cameras come from the data folder named in ``config.yml``, moved into the run's frame by its
  ``dataparser_transforms.json``. No nerfstudio install is needed;
* an original 3DGS (Inria) output folder: ``point_cloud/iteration_<N>/point_cloud.ply`` with the highest N and
  ``cameras.json`` (camera centre ``position``, camera-to-world ``rotation`` in OpenCV axes, ``fx fy width height``);
* a gsplat ``simple_trainer`` result: ``ckpts/ckpt_<step>_rank0.pt`` (highest step; a ``splats`` dict of
  ``means scales quats opacities sh0 shN``), the file, its ``ckpts`` folder or the result folder. gsplat normalises
  the COLMAP world before training and stores no cameras, so this gives the scene only.

:func:`load_camera_source` reads cameras (never the photos) from a ``transforms.json``, a folder holding one, a
Blender folder (``transforms_train.json`` / ``transforms_test.json``), a 3DGS folder or ``cameras.json``, or a
nerfstudio run, optionally one split.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path
from typing import Optional

import torch
import yaml

from core.errors import InputError
from stylize3d.cameras import Cameras, cat_cameras, intrinsics
from stylize3d.datasets.posed import HOLDOUT_EVERY
from stylize3d.datasets.transforms_json import check_rigid, load_transforms
from stylize3d.splats.ply import read_ply
from stylize3d.splats.scene import GaussianScene, sh_degree_from_coeffs

SPLITS = ("train", "test")
NERFSTUDIO_PREFIXES = ("_model.gauss_params.", "_model.")
"""Where splatfacto keeps its Gaussians in ``pipeline``: nerfstudio >= 1.0, then the older flat names."""
NERFSTUDIO_FIELDS = ("means", "scales", "quats", "features_dc", "features_rest", "opacities")
GSPLAT_FIELDS = ("means", "scales", "quats", "opacities", "sh0", "shN")


# ----------------------------------------------------------------------------------------------- dispatch


def run_kind(path: "str | os.PathLike") -> str:
    """``"ply"``, ``"nerfstudio"``, ``"inria"`` or ``"gsplat"`` for a scene path; :class:`InputError` otherwise."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"scene {path} does not exist")
    if path.is_file():
        if path.suffix.lower() == ".ply":
            return "ply"
        if path.name.endswith((".yml", ".yaml")):
            return "nerfstudio"
        if path.suffix == ".pt":
            return "gsplat"
        raise InputError(f"{path}: not a scene (.ply, a radiance-field .safetensors, nerfstudio config.yml or "
                         "gsplat ckpt_*.pt)")
    if (path / "config.yml").is_file() and (path / "nerfstudio_models").is_dir():
        return "nerfstudio"
    if (path / "point_cloud").is_dir():
        return "inria"
    if _gsplat_checkpoints(path):
        return "gsplat"
    raise InputError(f"{path}: not a training run folder (no nerfstudio config.yml + nerfstudio_models/, no 3DGS "
                     "point_cloud/iteration_*/, no gsplat ckpts/ckpt_*_rank0.pt)")


def load_scene_source(path: "str | os.PathLike", device: "torch.device | str" = "cpu"
                      ) -> tuple[GaussianScene, Optional[Cameras]]:
    """The scene at ``path`` (a ``.ply`` or a run folder, see the module docstring) on ``device``, and the
    training cameras in the scene's frame when the run records them (else None)."""
    kind = run_kind(path)
    if kind == "ply":
        scene, cameras = read_ply(path), None
    elif kind == "nerfstudio":
        run = nerfstudio_run_folder(path)
        scene, cameras = read_splatfacto_checkpoint(latest_nerfstudio_checkpoint(run)), nerfstudio_cameras(run)
    elif kind == "inria":
        scene, cameras = read_ply(latest_inria_ply(Path(path))), _inria_cameras_if_any(Path(path))
    else:
        scene, cameras = read_gsplat_checkpoint(latest_gsplat_checkpoint(Path(path))), None
    return scene.to(device), cameras


def scene_name(path: "str | os.PathLike") -> str:
    """A short name for output files: the ``.ply``'s stem, ``<experiment>_<method>`` for a nerfstudio run, else
    the folder's name."""
    path = Path(path)
    kind = run_kind(path)
    if kind == "ply":
        return path.stem
    if kind == "nerfstudio":
        run = nerfstudio_run_folder(path)
        return f"{run.parent.parent.name}_{run.parent.name}" if run.parent.parent.name else run.name
    folder = path.parent.parent if path.is_file() else path.parent if path.name == "ckpts" else path
    return folder.resolve().name or "scene"


def load_camera_source(path: "str | os.PathLike", split: Optional[str] = None, downscale: float = 1.0,
                       dataparser: "str | os.PathLike | None" = None) -> tuple[Cameras, list[int]]:
    """Cameras of a dataset or run at ``path`` and their indices in the whole dataset.

    ``split``: None (all frames), ``"train"`` or ``"test"``: Blender's ``transforms_train/test.json``, a
    nerfstudio file's ``test_filenames`` (or ``val_filenames``), else every 8th frame is a test frame (3DGS
    cameras in image-name order, as 3DGS ``--eval`` holds them out). ``dataparser``: a nerfstudio
    ``dataparser_transforms.json`` to apply (a nerfstudio run applies its own).
    """
    if split is not None and split not in SPLITS:
        raise InputError(f"unknown split {split!r}: use train or test")
    path = Path(path)
    if not path.exists():
        raise InputError(f"cameras {path} do not exist")
    if path.is_dir() and (path / "transforms_train.json").is_file():
        if dataparser is not None:
            raise InputError("--dataparser-transforms applies to nerfstudio data, not a Blender folder")
        return _blender_cameras(path, split, downscale)
    if path.name.endswith((".yml", ".yaml")) or (path.is_dir() and (path / "config.yml").is_file()):
        run = nerfstudio_run_folder(path)
        data = nerfstudio_data_path(run)
        return _transforms_cameras(_transforms_file(data), split, downscale, run / "dataparser_transforms.json")
    if path.name == "cameras.json" or (path.is_dir() and (path / "cameras.json").is_file()):
        file = path if path.is_file() else path / "cameras.json"
        cameras, names = read_inria_cameras(file)
        return _split_by_order(_downscaled(cameras, downscale), names, split)
    return _transforms_cameras(_transforms_file(path), split, downscale, dataparser)


def _downscaled(cameras: Cameras, downscale: float) -> Cameras:
    if not downscale > 0:
        raise InputError(f"downscale factor must be positive, got {downscale}")
    if downscale == 1:
        return cameras
    w = [max(1, round(int(v) / downscale)) for v in cameras.widths]
    h = [max(1, round(int(v) / downscale)) for v in cameras.heights]
    scaled = [cameras[i].scaled_to(w[i], h[i]) for i in range(len(cameras))]
    return cat_cameras(scaled)


def _transforms_file(path: Path) -> Path:
    if path.is_dir():
        if not (path / "transforms.json").is_file():
            raise InputError(f"{path}: no transforms.json, transforms_train.json or cameras.json in the folder")
        return path / "transforms.json"
    return path


def _transforms_cameras(file: Path, split: Optional[str], downscale: float,
                        dataparser: "str | os.PathLike | None") -> tuple[Cameras, list[int]]:
    cameras = load_transforms(file, downscale=downscale, dataparser=dataparser)
    indices = list(range(len(cameras)))
    if split is None:
        return cameras, indices
    meta = json.loads(file.read_text())
    named = meta.get("test_filenames") or meta.get("val_filenames")
    if named:
        wanted = {os.path.normpath(str(n)) for n in named}
        test = {i for i, f in enumerate(meta["frames"]) if os.path.normpath(str(f.get("file_path", ""))) in wanted}
    else:
        test = set(range(0, len(cameras), HOLDOUT_EVERY)) if len(cameras) > 1 else set()
    chosen = [i for i in indices if (i in test) == (split == "test")]
    if not chosen:
        raise InputError(f"{file}: the {split} split is empty")
    return cameras[chosen], chosen


def _blender_cameras(folder: Path, split: Optional[str], downscale: float) -> tuple[Cameras, list[int]]:
    test_file = next((folder / n for n in ("transforms_test.json", "transforms_val.json") if (folder / n).is_file()),
                     None)
    train = load_transforms(folder / "transforms_train.json", downscale=downscale)
    test = load_transforms(test_file, downscale=downscale) if test_file is not None else None
    n_train, n_test = len(train), len(test) if test is not None else 0
    if split == "train":
        return train, list(range(n_train))
    if split == "test":
        if test is None:
            raise InputError(f"{folder}: no transforms_test.json or transforms_val.json for the test split")
        return test, list(range(n_train, n_train + n_test))
    return (cat_cameras([train, test]) if test is not None else train), list(range(n_train + n_test))


def _split_by_order(cameras: Cameras, names: list[str], split: Optional[str]) -> tuple[Cameras, list[int]]:
    indices = list(range(len(cameras)))
    if split is None:
        return cameras, indices
    order = sorted(indices, key=lambda i: names[i])
    test = {order[k] for k in range(0, len(order), HOLDOUT_EVERY)} if len(order) > 1 else set()
    chosen = [i for i in indices if (i in test) == (split == "test")]
    if not chosen:
        raise InputError(f"the {split} split of these cameras is empty")
    return cameras[chosen], chosen


# ----------------------------------------------------------------------------------------------- nerfstudio


class _ConfigLoader(yaml.SafeLoader):
    """A safe YAML loader for nerfstudio's ``config.yml``: its ``!!python/object:...`` tags become plain
    mappings, ``!!python/object/apply:pathlib.*Path`` becomes a :class:`Path`, every other python tag a plain
    value or list. Nothing is imported or called."""


def _python_tag(loader: _ConfigLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node, deep=True)
        if re.fullmatch(r"object/apply:pathlib\.(Posix|Windows|Pure\w*)?Path", suffix):
            return Path(*[str(i) for i in items]) if items else Path(".")
        return items
    return loader.construct_scalar(node)


_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)


def nerfstudio_run_folder(path: "str | os.PathLike") -> Path:
    """The run folder of a nerfstudio ``config.yml`` (or the folder itself)."""
    path = Path(path)
    run = path.parent if path.is_file() else path
    if not (run / "config.yml").is_file():
        raise InputError(f"{run}: no nerfstudio config.yml")
    return run


def read_nerfstudio_config(run: Path) -> dict:
    """``config.yml`` of a nerfstudio run as nested dicts (see :class:`_ConfigLoader`)."""
    file = run / "config.yml"
    try:
        doc = yaml.load(file.read_text(), Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: not a readable YAML file ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{file}: not a nerfstudio trainer config")
    return doc


def nerfstudio_data_path(run: Path) -> Path:
    """The training data (folder or ``transforms.json``) named in ``config.yml``: the dataparser's ``data``,
    else the datamanager's, else the top-level ``data``; a relative path is looked up from the current folder,
    then from each folder above the run (nerfstudio stores it relative to where ``ns-train`` ran)."""
    config = read_nerfstudio_config(run)
    datamanager = (config.get("pipeline") or {}).get("datamanager") or {}
    candidates = [(datamanager.get("dataparser") or {}).get("data"), datamanager.get("data"), config.get("data")]
    data = next((Path(c) for c in candidates if isinstance(c, (str, Path)) and str(c)), None)
    if data is None:
        raise InputError(f"{run / 'config.yml'}: names no training data (pipeline.datamanager.dataparser.data)")
    if data.is_absolute():
        places = [data]
    else:
        places = [Path.cwd() / data] + [parent / data for parent in run.resolve().parents]
    for place in places:
        if place.exists():
            return place
    raise InputError(f"{run / 'config.yml'}: its training data {data} is not found (looked in the current folder "
                     f"and above {run}); pass --cameras DATA")


def nerfstudio_cameras(run: Path) -> Cameras:
    """The training data's cameras (all frames) moved into the run's frame by ``dataparser_transforms.json``."""
    dataparser = run / "dataparser_transforms.json"
    if not dataparser.is_file():
        raise InputError(f"{run}: no dataparser_transforms.json beside config.yml")
    return _transforms_cameras(_transforms_file(nerfstudio_data_path(run)), None, 1.0, dataparser)[0]


def latest_nerfstudio_checkpoint(run: Path) -> Path:
    """``nerfstudio_models/step-<N>.ckpt`` with the highest N."""
    found = _numbered(run / "nerfstudio_models", r"step-(\d+)\.ckpt")
    if not found:
        raise InputError(f"{run}: no nerfstudio_models/step-*.ckpt")
    return found[-1]


def _torch_load(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError / UnpicklingError / EOFError for bad files
        raise InputError(f"{path}: cannot read the checkpoint ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


def _param(params: dict, key: str, where: Path) -> torch.Tensor:
    value = params.get(key)
    if not isinstance(value, torch.Tensor):
        raise InputError(f"{where}: no tensor {key!r} in the checkpoint")
    return value.detach().to(torch.float32)


def read_splatfacto_checkpoint(path: Path) -> GaussianScene:
    """A splatfacto checkpoint's Gaussians: means ``N,3``, log scales ``N,3``, quats ``N,4`` wxyz, features_dc
    ``N,3``, features_rest ``N,K-1,3``, opacity logits ``N,1``."""
    doc = _torch_load(path)
    pipeline = doc.get("pipeline") if isinstance(doc, dict) else None
    if not isinstance(pipeline, dict):
        raise InputError(f"{path}: not a nerfstudio checkpoint (no 'pipeline' state)")
    prefix = next((p for p in NERFSTUDIO_PREFIXES if f"{p}means" in pipeline), None)
    if prefix is None:
        raise InputError(f"{path}: no splatfacto Gaussians (pipeline['_model.gauss_params.means']); is this a "
                         "splatfacto run?")
    p = {name: _param(pipeline, prefix + name, path) for name in NERFSTUDIO_FIELDS}
    return _scene(path, p["means"], p["quats"], p["scales"], p["opacities"], p["features_dc"][:, None],
                  p["features_rest"])


# ----------------------------------------------------------------------------------------------- 3DGS (Inria)


def latest_inria_ply(folder: Path) -> Path:
    """``point_cloud/iteration_<N>/point_cloud.ply`` with the highest N."""
    found = [p / "point_cloud.ply" for p in _numbered(folder / "point_cloud", r"iteration_(\d+)")
             if (p / "point_cloud.ply").is_file()]
    if not found:
        raise InputError(f"{folder}: no point_cloud/iteration_*/point_cloud.ply")
    return found[-1]


def _inria_cameras_if_any(folder: Path) -> Optional[Cameras]:
    if not (folder / "cameras.json").is_file():
        warnings.warn(f"{folder}: no cameras.json; the scene comes without its training cameras", UserWarning,
                      stacklevel=3)
        return None
    return read_inria_cameras(folder / "cameras.json")[0]


def read_inria_cameras(path: Path) -> tuple[Cameras, list[str]]:
    """3DGS ``cameras.json`` → cameras (in file order) and their ``img_name`` s. Each entry: ``position`` (the
    camera centre), ``rotation`` (camera-to-world 3x3, OpenCV axes), ``fx fy width height``; principal point at
    the image centre, as 3DGS renders."""
    try:
        entries = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: expected a non-empty list of 3DGS cameras")
    viewmats, Ks, widths, heights, names = [], [], [], [], []
    for i, cam in enumerate(entries):
        where = f"{path} camera {i}"
        try:
            rot = torch.tensor(cam["rotation"], dtype=torch.float64)
            pos = torch.tensor(cam["position"], dtype=torch.float64)
            fx, fy, w, h = float(cam["fx"]), float(cam["fy"]), int(cam["width"]), int(cam["height"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: needs position, rotation, fx, fy, width, height ({exc})") from None
        if rot.shape != (3, 3) or pos.shape != (3,):
            raise InputError(f"{where}: rotation must be 3x3 and position 3 numbers")
        c2w = torch.eye(4, dtype=torch.float64)
        c2w[:3, :3], c2w[:3, 3] = rot, pos
        check_rigid(c2w, where)
        if not (math.isfinite(fx) and math.isfinite(fy) and fx > 0 and fy > 0 and w > 0 and h > 0):
            raise InputError(f"{where}: fx, fy, width, height must be finite and positive")
        viewmats.append(torch.linalg.inv(c2w).float())
        Ks.append(intrinsics(fx, fy, w / 2, h / 2))
        widths.append(w)
        heights.append(h)
        names.append(str(cam.get("img_name", i)))
    return Cameras(torch.stack(viewmats), torch.stack(Ks), torch.tensor(widths), torch.tensor(heights)), names


# ----------------------------------------------------------------------------------------------- gsplat


def _gsplat_checkpoints(folder: Path) -> list[Path]:
    for place in (folder / "ckpts", folder):
        found = _numbered(place, r"ckpt_(\d+)_rank0\.pt")
        if found:
            return found
    return []


def latest_gsplat_checkpoint(path: Path) -> Path:
    """The ``.pt`` file itself, else ``ckpts/ckpt_<step>_rank0.pt`` (or ``ckpt_<step>_rank0.pt``) with the highest
    step."""
    if path.is_file():
        return path
    found = _gsplat_checkpoints(path)
    if not found:
        raise InputError(f"{path}: no gsplat ckpts/ckpt_*_rank0.pt")
    return found[-1]


def read_gsplat_checkpoint(path: Path) -> GaussianScene:
    """A gsplat ``simple_trainer`` checkpoint's ``splats``: means ``N,3``, scales ``N,3`` (log), quats ``N,4``
    wxyz, opacities ``N`` (logit), sh0 ``N,1,3``, shN ``N,K-1,3``."""
    doc = _torch_load(path)
    splats = doc.get("splats") if isinstance(doc, dict) else None
    if not isinstance(splats, dict):
        raise InputError(f"{path}: not a gsplat simple_trainer checkpoint (no 'splats' dict)")
    if "sh0" not in splats and "colors" in splats:
        raise InputError(f"{path}: trained with appearance embeddings (--app-opt): its colours come from a network "
                         "this toolkit does not run; export a .ply with gsplat instead")
    p = {name: _param(splats, name, path) for name in GSPLAT_FIELDS}
    return _scene(path, p["means"], p["quats"], p["scales"], p["opacities"], p["sh0"], p["shN"])


# ----------------------------------------------------------------------------------------------- shared


def _numbered(folder: Path, pattern: str) -> list[Path]:
    """Entries of ``folder`` whose name matches ``pattern`` (one integer group), in increasing number."""
    if not folder.is_dir():
        return []
    hits = [(int(m.group(1)), p) for p in folder.iterdir() if (m := re.fullmatch(pattern, p.name))]
    return [p for _, p in sorted(hits)]


def _scene(where: Path, means, quats, log_scales, opacity_logits, sh_dc, sh_rest) -> GaussianScene:
    """A scene from checkpoint tensors, with their shapes checked (sh_dc ``N,1,3``, sh_rest ``N,K-1,3``)."""
    n = means.shape[0] if means.ndim == 2 else -1
    if n <= 0 or means.shape != (n, 3):
        raise InputError(f"{where}: means has shape {tuple(means.shape)}, expected N,3 with N > 0")
    sh_rest = sh_rest.reshape(n, -1, 3) if sh_rest.numel() else sh_rest.new_zeros(n, 0, 3)
    sh = torch.cat([sh_dc.reshape(n, 1, 3), sh_rest], dim=1) if sh_dc.numel() == 3 * n else None
    shapes = {"quats": (quats, (n, 4)), "scales": (log_scales, (n, 3)), "opacities": (opacity_logits.reshape(-1), (n,))}
    for name, (value, shape) in shapes.items():
        if tuple(value.shape) != shape:
            raise InputError(f"{where}: {name} has shape {tuple(value.shape)}, expected {shape}")
    if sh is None:
        raise InputError(f"{where}: DC colour has {sh_dc.numel()} values, expected {3 * n}")
    try:
        sh_degree_from_coeffs(sh.shape[1])
    except ValueError:
        raise InputError(f"{where}: {sh.shape[1]} SH coefficients per channel is not SH degree 0-3") from None
    scene = GaussianScene(means, quats, log_scales, opacity_logits.reshape(-1), sh)
    finite = torch.ones(n, dtype=torch.bool)
    for t in scene.tensors().values():
        finite &= torch.isfinite(t.reshape(n, -1)).all(dim=1)
    if not finite.all():
        warnings.warn(f"{where}: dropped {int((~finite).sum())} of {n} Gaussians with NaN/inf values", UserWarning,
                      stacklevel=3)
        if not finite.any():
            raise InputError(f"{where}: every Gaussian has NaN/inf values")
        scene = scene.subset(finite)
    return scene
