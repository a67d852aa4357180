"""``stylize view``: serve a scene (and a second one to compare) to the browser with viser."""

from __future__ import annotations

import re
import socket
import sys
import time
from pathlib import Path

from core.cli import add_command, add_common_options, run_job
from core.errors import InputError
from stylize3d.commands import COMMANDS
from stylize3d.datasets.transforms_json import load_transforms
from stylize3d.splats.render import BACKENDS
from stylize3d.viewer.app import Viewer, ViewerOptions
from stylize3d.viewer.shown_scene import boxes_overlap, load_shown_scene

DESCRIPTION = """\
Open SCENE in the browser: Gaussian splats are drawn by the browser (viser's WebGL splat renderer); scenes the
browser cannot draw are rendered on the server by our renderer and streamed (lower resolution while the camera
moves). With --compare, toggle between the two at the same camera or drag the wipe slider (both sides rendered
by our renderer). --cameras shows the training cameras as frustums: click one to jump to it. The "Camera path"
panel plays an orbit/ellipse/spiral, recorded keyframes or a camera-path JSON, and "save path" writes the
selected path as a JSON that `stylize render --path` takes. "render this view" writes a PNG made by our renderer.
PNGs and paths go to --out.

The server binds to 127.0.0.1 by default: only this machine can connect. On a remote machine, forward the port
over ssh (ssh -L 8080:127.0.0.1:8080 user@host, then open http://127.0.0.1:8080 locally) rather than binding to
0.0.0.0, which lets anyone on the network connect. Ctrl-C stops the server.

example: stylize view out/scene/sample_scene_stylized.ply --compare scenes/splats/sample_scene.ply \\
  --cameras scenes/splats/transforms.json"""


def register(subparsers) -> None:
    p = add_command(subparsers, "view", COMMANDS["view"].help,
                    description=DESCRIPTION)
    p.add_argument("scene", metavar="SCENE", help="a scene stylize render takes (splat .ply, radiance field "
                                                  ".safetensors, nerfstudio/3DGS/gsplat run) or a `stylize scene` "
                                                  "output folder")
    p.add_argument("--compare", metavar="OTHER", default=None,
                   help="a second scene in the same frame (e.g. the original) to toggle or wipe against")
    p.add_argument("--cameras", metavar="transforms.json", default=None,
                   help="nerfstudio/Blender cameras of the capture: drawn as clickable frustums, used to fit paths")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind; 127.0.0.1 accepts only this machine (use ssh -L from "
                        "elsewhere); 0.0.0.0 accepts anyone on the network")
    p.add_argument("--port", type=int, default=8080, help="TCP port to serve on (0: any free port)")
    p.add_argument("--out", default="stylize_view", metavar="DIR",
                   help="folder for 'render this view' PNGs and saved camera paths")
    p.add_argument("--server-render", action="store_true",
                   help="start with splats rendered on the server by our renderer (as radiance fields always are; "
                        "the 'draw' buttons switch)")
    p.add_argument("--stream-size", type=int, default=384,
                   help="long side in pixels of server-rendered frames once the camera is still (a quarter "
                        "of it while moving)")
    p.add_argument("--render-size", type=int, default=None,
                   help="long side in pixels of 'render this view' PNGs (default: the --cameras images, else 1024)")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="our renderer: torch, gsplat (CUDA) or auto")
    add_common_options(p, seed=False)
    p.set_defaults(func=run_view)


def check_port_free(host: str, port: int) -> None:
    """:class:`InputError` naming ``host:port`` when something already listens there (port 0 always passes)."""
    if port == 0:
        return
    if not 0 < port < 65536:
        raise InputError(f"--port must be 0-65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(f"port {port} on {host} is in use or cannot be bound ({exc.strerror}); "
                             f"choose another with --port") from None


VISER_MIN = (1, 0)


def check_viser() -> None:
    """:class:`InputError` when viser (the ``viewer`` extra) is missing or older than 1.0 (nerfstudio 1.1.5's
    environment pins 0.2.7, whose API differs)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("viser")
    except PackageNotFoundError:
        raise InputError("stylize view needs viser >= 1.0: pip install 'stylize-beyond[viewer]'") from None
    leading = re.match(r"(\d+)(?:\.(\d+))?", found)  # "1.0.0rc1" -> (1, 0)
    numbers = (int(leading[1]), int(leading[2] or 0)) if leading else (0, 0)
    if numbers < VISER_MIN:
        raise InputError(f"stylize view needs viser >= 1.0, this environment has {found} (nerfstudio pins 0.2.7); "
                         "run it from an environment with pip install 'stylize-beyond[viewer]'")


def run_view(args) -> int:
    check_viser()
    for name in ("stream_size", "render_size"):
        value = getattr(args, name)
        if value is not None and value < 16:
            raise InputError(f"--{name.replace('_', '-')} must be at least 16, got {value}")
    check_port_free(args.host, args.port)
    return run_job(args, "view", _serve)


def _serve(job) -> int:
    args, report, device = job.args, job.report, job.device
    with report.phase("load"):
        scene = load_shown_scene(args.scene, device, args.backend)
        compare = load_shown_scene(args.compare, device, args.backend) if args.compare else None
        cameras = load_transforms(args.cameras) if args.cameras else None
    if compare is not None and not boxes_overlap(scene.bounds(), compare.bounds()):
        print(f"stylize view: warning: the bounding boxes of {args.scene} and {args.compare} do not overlap; "
              "they are probably in different frames (a nerfstudio export needs its dataparser transform)",
              file=sys.stderr, flush=True)
    render_size = args.render_size or (max(int(cameras.widths[0]), int(cameras.heights[0])) if cameras else 1024)
    options = ViewerOptions(host=args.host, port=args.port, out_dir=Path(args.out), stream_size=args.stream_size,
                            moving_size=max(16, args.stream_size // 4), render_size=render_size)
    viewer = Viewer(scene, compare, cameras, options, server_render=args.server_render)
    report.inputs = [p for p in (args.scene, args.compare, args.cameras) if p]
    try:
        viewer.start()
        if args.port and viewer.port != args.port:  # taken between our check and viser's bind
            raise InputError(f"port {args.port} on {args.host} is in use; choose another with --port")
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        print(f"stylize view: serving {args.scene} at http://{shown}:{viewer.port} (Ctrl-C stops)", flush=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stylize view: stopped", flush=True)
    finally:
        viewer.stop()
    report.outputs = list(viewer.outputs)
    return 0
