"""Photos or video → a posed dataset in nerfstudio's ``ns-process-data`` layout, with pycolmap (CPU).

Stages: pictures (:mod:`.frames`) → SIFT at a working size (≤ ``sfm_size`` px, at most ``max_features`` per
image) → matching (exhaustive for photos, sequential for video frames) → incremental mapping (largest model kept)
→ cameras rescaled to the written image size → undistortion to pinhole → the dataset::

    DATA/transforms.json   OpenGL camera-to-world per frame, PINHOLE intrinsics (top level for one camera, per
                           frame otherwise), applied_transform, ply_file_path
    DATA/sparse_pc.ply     the triangulated points (x y z float, red green blue uchar) in the same frame
    DATA/images/ images_2/ images_4/   the undistorted pictures at full, half and quarter size
    DATA/colmap/sparse/0/  the undistorted COLMAP model (for tools that read COLMAP)

World frame as ``ns-process-data`` makes it: each COLMAP camera-to-world (OpenCV axes) gets its y and z columns
negated (OpenGL axes), then the world is re-oriented by ``applied_transform`` = rows ``[0, 2, 1]`` of the
identity with the last row negated; the points get the same ``applied_transform``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PIL import Image

from core.errors import InputError
from stylize3d.capture.frames import MIN_IMAGES, Picture, common_size, is_video, read_pictures

MATCHERS = ("auto", "exhaustive", "sequential")
CAMERA_MODELS = ("SIMPLE_RADIAL", "RADIAL", "OPENCV", "PINHOLE", "SIMPLE_PINHOLE")
DOWNSCALES = (2, 4)
APPLIED_TRANSFORM = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0]])
"""``ns-process-data``'s world re-orientation: identity rows [0, 2, 1], last row negated (3x4)."""


@dataclasses.dataclass
class CaptureConfig:
    image_size: int = dataclasses.field(default=1600, metadata={"help": "long side of the written images in pixels "
                                                                "(never upscaled)"})
    sfm_size: int = dataclasses.field(default=1000, metadata={"help": "long side the features are extracted at "
                                                              "(CPU COLMAP is slow on large images)"})
    max_features: int = dataclasses.field(default=4096, metadata={"help": "SIFT features per image at most"})
    matcher: str = dataclasses.field(default="auto", metadata={"help": "auto (sequential for video, exhaustive for "
                                                               "photos), exhaustive or sequential",
                                                               "choices": MATCHERS})
    camera_model: str = dataclasses.field(default="SIMPLE_RADIAL", metadata={"help": "COLMAP camera model (one "
                                                                             "camera shared by all pictures)",
                                                                             "choices": CAMERA_MODELS})
    frames: int = dataclasses.field(default=60, metadata={"help": "frames picked from a video (sharpest per slot)"})
    min_registered: float = dataclasses.field(default=0.5, metadata={"help": "refuse when less than this fraction "
                                                                     "of the pictures gets a pose"})
    threads: int = dataclasses.field(default=-1, metadata={"help": "COLMAP threads (-1: all cores)"})
    seed: int = dataclasses.field(default=0, metadata={"help": "random seed of the mapper's RANSAC"})

    def validate(self) -> None:
        if self.matcher not in MATCHERS:
            raise InputError(f"--matcher {self.matcher!r}: choose one of {', '.join(MATCHERS)}")
        if self.camera_model not in CAMERA_MODELS:
            raise InputError(f"--camera-model {self.camera_model!r}: choose one of {', '.join(CAMERA_MODELS)}")
        if self.sfm_size < 64 or self.image_size < 64:
            raise InputError("--sfm-size and --image-size must be at least 64 pixels")
        if self.max_features < 64:
            raise InputError("--max-features must be at least 64")
        if not 0 < self.min_registered <= 1:
            raise InputError("--min-registered must be in (0, 1]")


@dataclasses.dataclass
class CaptureResult:
    """What :func:`capture` produced: ``registered`` of ``total`` pictures posed, the model's mean reprojection
    error in (working-size) pixels, its 3D ``points``, per-stage ``seconds``, the unregistered picture names and
    the written ``size`` ``(W, H)`` of the undistorted images."""

    registered: int
    total: int
    reprojection_error: float
    points: int
    seconds: dict
    unregistered: list
    size: tuple
    matcher: str


def _stage(name: str, progress: bool):
    """A context manager timing one stage and printing ``capture: <name> ... <s> s`` when ``progress``."""

    class _Timer:
        def __enter__(self):
            self.start = time.perf_counter()
            if progress:
                print(f"capture: {name} ...", file=sys.stderr, flush=True)
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.start
            if progress and exc[0] is None:
                print(f"capture: {name} done in {self.seconds:.1f} s", file=sys.stderr, flush=True)
            return False

    return _Timer()


def _resized(image: Image.Image, long_side: int) -> Image.Image:
    scale = long_side / max(image.size)
    if scale >= 1:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)


def _quiet_colmap(progress: bool) -> None:
    import pycolmap

    pycolmap.logging.minloglevel = 1 if progress else 2  # INFO lines are per image: too many either way


def capture(input_path: "str | os.PathLike", output: "str | os.PathLike", config: CaptureConfig,
            progress: bool = True, cancelled: Optional[Callable[[], bool]] = None) -> CaptureResult:
    """Run the whole pipeline from ``input_path`` (photo folder or video) into the new folder ``output``.

    The dataset is assembled in a temporary folder beside ``output`` and renamed into place at the end, so an
    error or Ctrl-C leaves nothing half-written. Raises :class:`InputError` for bad input and when fewer than
    ``min_registered`` of the pictures (or fewer than 3) get a pose.
    """
    import pycolmap

    config.validate()
    input_path, output = Path(input_path), Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise InputError(f"output {output} already exists and is not an empty folder")
    _quiet_colmap(progress)
    seconds = {}
    video = input_path.exists() and is_video(input_path)
    matcher = config.matcher if config.matcher != "auto" else ("sequential" if video else "exhaustive")
    with _stage("reading pictures", progress) as t:
        pictures = read_pictures(input_path, config.frames)
        width, height = common_size(pictures)
    seconds["read"] = t.seconds
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.", dir=output.parent) as tmp_name:
        tmp = Path(tmp_name)
        work, full = tmp / "work", tmp / "full"
        work.mkdir()
        full.mkdir()
        with _stage(f"writing {len(pictures)} pictures", progress) as t:
            names = _write_pictures(pictures, work, full, config)
        seconds["prepare"] = t.seconds
        database = tmp / "database.db"
        sfm_w, sfm_h = Image.open(work / names[0]).size
        with _stage(f"extracting SIFT features ({len(names)} images at {sfm_w}x{sfm_h}, at most "
                    f"{config.max_features} each)", progress) as t:
            extraction = pycolmap.FeatureExtractionOptions()
            extraction.max_image_size = max(sfm_w, sfm_h)
            extraction.sift.max_num_features = config.max_features
            extraction.num_threads = config.threads
            extraction.use_gpu = False
            reader = pycolmap.ImageReaderOptions()
            reader.camera_model = config.camera_model
            pycolmap.extract_features(database, work, image_names=names, camera_mode=pycolmap.CameraMode.SINGLE,
                                      reader_options=reader, extraction_options=extraction,
                                      device=pycolmap.Device.cpu)
        seconds["features"] = t.seconds
        _check_cancel(cancelled)
        with _stage(f"{matcher} matching", progress) as t:
            matching = pycolmap.FeatureMatchingOptions()
            matching.num_threads = config.threads
            matching.use_gpu = False
            if matcher == "exhaustive":
                pycolmap.match_exhaustive(database, matching_options=matching, device=pycolmap.Device.cpu)
            else:
                pairing = pycolmap.SequentialPairingOptions()
                pairing.overlap = 10
                pairing.quadratic_overlap = True
                pycolmap.match_sequential(database, matching_options=matching, pairing_options=pairing,
                                          device=pycolmap.Device.cpu)
        seconds["matching"] = t.seconds
        _check_cancel(cancelled)
        with _stage("incremental mapping", progress) as t:
            options = pycolmap.IncrementalPipelineOptions()
            options.num_threads = config.threads
            options.random_seed = config.seed
            options.min_model_size = MIN_IMAGES
            models = pycolmap.incremental_mapping(database, work, tmp / "sparse", options=options)
        seconds["mapping"] = t.seconds
        rec = max(models.values(), key=lambda r: r.num_reg_images()) if models else None
        registered = rec.num_reg_images() if rec is not None else 0
        if registered < max(MIN_IMAGES, config.min_registered * len(names)):
            raise InputError(f"{input_path}: only {registered} of {len(names)} pictures could be posed (need "
                             f"{max(MIN_IMAGES, int(np.ceil(config.min_registered * len(names))))}); the pictures "
                             "must overlap: take them closer together, with texture in view")
        posed = {rec.image(i).name for i in rec.reg_image_ids()}
        unregistered = [n for n in names if n not in posed]
        if unregistered:
            print(f"capture: warning: {len(unregistered)} of {len(names)} pictures got no pose and are left out "
                  f"(e.g. {unregistered[0]})", file=sys.stderr)
        reprojection = float(rec.compute_mean_reprojection_error())
        points = int(rec.num_points3D())
        _check_cancel(cancelled)
        with _stage("undistorting to pinhole", progress) as t:
            full_w, full_h = Image.open(full / names[0]).size
            for camera in rec.cameras.values():
                camera.rescale(full_w, full_h)
            model = tmp / "model"
            model.mkdir()
            rec.write(model)
            undistorted = tmp / "undistorted"
            pycolmap.undistort_images(undistorted, model, full, image_names=sorted(posed))
        seconds["undistort"] = t.seconds
        with _stage("writing the dataset", progress) as t:
            dataset = tmp / "dataset"
            size = write_nerfstudio_layout(undistorted, dataset)
        seconds["write"] = t.seconds
        os.replace(dataset, output) if not output.exists() else _move_into(dataset, output)
    return CaptureResult(registered, len(names), reprojection, points, seconds, unregistered, size, matcher)


def _check_cancel(cancelled) -> None:
    if cancelled is not None and cancelled():
        raise KeyboardInterrupt


def _move_into(src: Path, dst: Path) -> None:
    """Move the contents of ``src`` into the existing empty folder ``dst``."""
    for entry in src.iterdir():
        os.replace(entry, dst / entry.name)


def _write_pictures(pictures: list[Picture], work: Path, full: Path, config: CaptureConfig) -> list[str]:
    """Write each picture at the output size into ``full`` and at the working size into ``work`` (same names,
    lossless PNG); returns the file names."""
    names = []
    for picture in pictures:
        name = f"{picture.name}.png"
        if name in names:
            raise InputError(f"two pictures are both named {picture.name} (e.g. {picture.source}); rename one")
        big = _resized(picture.image, config.image_size)
        big.save(full / name)
        _resized(big, config.sfm_size).save(work / name)
        names.append(name)
    return names


def write_nerfstudio_layout(undistorted: Path, dataset: Path) -> tuple[int, int]:
    """The ``ns-process-data`` layout (module docstring) from pycolmap's undistorted output folder
    (``images/`` + ``sparse/``); returns the image size ``(W, H)``."""
    import pycolmap

    rec = pycolmap.Reconstruction(str(undistorted / "sparse"))
    (dataset / "colmap").mkdir(parents=True)
    shutil.copytree(undistorted / "sparse", dataset / "colmap" / "sparse" / "0")
    images = sorted((rec.image(i) for i in rec.reg_image_ids()), key=lambda im: im.name)
    for folder in ["images"] + [f"images_{f}" for f in DOWNSCALES]:
        (dataset / folder).mkdir()
    cameras = {cid: _pinhole(cam) for cid, cam in rec.cameras.items()}
    one_camera = len({im.camera_id for im in images}) == 1
    frames = []
    for i, im in enumerate(images):
        src = undistorted / "images" / im.name
        pic = Image.open(src)
        pic.load()
        shutil.copyfile(src, dataset / "images" / im.name)
        for f in DOWNSCALES:
            pic.resize((max(1, round(pic.width / f)), max(1, round(pic.height / f))), Image.LANCZOS).save(
                dataset / f"images_{f}" / im.name)
        w2c = np.eye(4)
        pose = im.cam_from_world() if callable(im.cam_from_world) else im.cam_from_world
        w2c[:3] = np.asarray(pose.matrix())
        c2w = np.linalg.inv(w2c)
        c2w[0:3, 1:3] *= -1  # OpenCV → OpenGL camera axes
        c2w = c2w[[0, 2, 1, 3], :]  # ns-process-data's world re-orientation (= APPLIED_TRANSFORM)
        c2w[2, :] *= -1
        frame = {"file_path": f"images/{im.name}", "transform_matrix": c2w.tolist(), "colmap_im_id": int(im.image_id)}
        if not one_camera:
            frame.update(cameras[im.camera_id])
        frames.append(frame)
    doc = {"camera_model": "PINHOLE"}
    if one_camera:
        doc.update(cameras[images[0].camera_id])
    doc.update({"frames": frames, "applied_transform": APPLIED_TRANSFORM.tolist(), "ply_file_path": "sparse_pc.ply"})
    (dataset / "transforms.json").write_text(json.dumps(doc, indent=2))
    xyz = np.array([p.xyz for p in rec.points3D.values()], dtype=np.float64).reshape(-1, 3)
    rgb = np.array([p.color for p in rec.points3D.values()], dtype=np.uint8).reshape(-1, 3)
    write_point_ply(xyz @ APPLIED_TRANSFORM[:, :3].T + APPLIED_TRANSFORM[:, 3], rgb, dataset / "sparse_pc.ply")
    first = cameras[images[0].camera_id]
    return first["w"], first["h"]


def _pinhole(camera) -> dict:
    """An undistorted (PINHOLE / SIMPLE_PINHOLE) pycolmap camera → ``fl_x fl_y cx cy w h``."""
    model = camera.model.name if hasattr(camera.model, "name") else str(camera.model)
    p = [float(v) for v in camera.params]
    fx, fy, cx, cy = (p[0], p[0], p[1], p[2]) if model.endswith("SIMPLE_PINHOLE") else p[:4]
    return {"fl_x": fx, "fl_y": fy, "cx": cx, "cy": cy, "w": int(camera.width), "h": int(camera.height)}


def write_point_ply(xyz: np.ndarray, rgb: np.ndarray, path: Path) -> None:
    """A binary little-endian PLY of ``N`` points: ``x y z`` float32 and ``red green blue`` uchar."""
    rows = np.empty(len(xyz), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
                                     ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    for i, axis in enumerate("xyz"):
        rows[axis] = xyz[:, i]
    for i, channel in enumerate(("red", "green", "blue")):
        rows[channel] = rgb[:, i]
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(rows)}\n"
              "property float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(rows.tobytes())


def read_point_ply(path: "str | os.PathLike") -> tuple[np.ndarray, np.ndarray]:
    """``(xyz N,3 float32, rgb N,3 float32 in [0,1])`` of a coloured point PLY (ours, ``ns-process-data``'s
    ASCII or binary ``sparse_pc.ply``; white when it has no colours)."""
    from plyfile import PlyData

    try:
        vertex = PlyData.read(str(path))["vertex"]
        xyz = np.stack([np.asarray(vertex[a], dtype=np.float32) for a in "xyz"], 1)
    except (OSError, KeyError, ValueError, IndexError) as exc:
        raise InputError(f"{path}: not a readable point PLY ({exc})") from None
    names = vertex.data.dtype.names
    if all(c in names for c in ("red", "green", "blue")):
        rgb = np.stack([np.asarray(vertex[c], dtype=np.float32) for c in ("red", "green", "blue")], 1) / 255.0
    else:
        rgb = np.ones_like(xyz)
    return xyz, rgb
