"""The viser server behind ``stylize view``: scene nodes, GUI and the server-side streaming thread.

Display modes. *Browser*: the shown representation is :class:`~.shown_scene.BrowserSplats` and the wipe is
off; viser's WebGL renderer draws the splats over a solid background. *Server*: the shown representation cannot
be drawn by the browser (:class:`~.shown_scene.ServerRendered`), or the wipe is on (``0 < wipe < 1``: SCENE
left of the line, ``--compare`` right of it); our renderer draws each client's camera view, sent as the
background image, at ``moving_size`` pixels (long side) while the camera moves and ``stream_size`` once it has
been still for :data:`SETTLE_S` seconds.

All GUI state is shared by every connected browser tab (a single-user tool); camera paths play in the tab whose
button was pressed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from core.io.images import save_image
from stylize3d.camera_paths import PATH_KINDS, interpolate, path_around, read_camera_path, write_camera_path
from stylize3d.cameras import Cameras, cat_cameras
from stylize3d.viewer.cameras import camera_from_viser, viser_pose
from stylize3d.viewer.shown_scene import ShownScene

SETTLE_S = 0.3
"""Seconds without a camera update before a client's view counts as still (full-resolution stream)."""
SHOW_OPTIONS = ("scene", "compare")
DRAW_OPTIONS = ("browser", "server")
PLAY_KINDS = PATH_KINDS + ("keyframes", "file")


@dataclasses.dataclass
class ViewerOptions:
    """Server settings: ``host``/``port`` to bind, ``out_dir`` for PNGs and camera paths, streaming sizes (long
    side in pixels) while still / moving, ``render_size`` of "render this view" (long side), ``fps`` of played
    paths, ``frames`` of a played or saved path."""

    host: str = "127.0.0.1"
    port: int = 8080
    out_dir: Path = Path("stylize_view")
    stream_size: int = 384
    moving_size: int = 128
    render_size: int = 1024
    fps: float = 24.0
    frames: int = 96


def compose_wipe(left: torch.Tensor, right: torch.Tensor, wipe: float) -> torch.Tensor:
    """``1,3,H,W`` images side by side at the same camera: columns ``x < round(wipe * W)`` from ``left``, the
    rest from ``right``."""
    split = int(round(float(wipe) * left.shape[-1]))
    out = right.clone()
    out[..., :split] = left[..., :split]
    return out


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """``1,3,H,W`` in [0,1] → ``H,W,3`` uint8."""
    return (image[0].clamp(0, 1).permute(1, 2, 0) * 255 + 0.5).to(torch.uint8).numpy()


def size_for_aspect(aspect: float, long_side: int) -> tuple[int, int]:
    """``(width, height)`` with ``width / height ≈ aspect`` and ``long_side`` pixels on the long side."""
    if aspect >= 1:
        return long_side, max(8, round(long_side / aspect))
    return max(8, round(long_side * aspect)), long_side


class Viewer:
    """Serves ``scene`` (and ``compare``) with viser; ``cameras``: training cameras shown as clickable frustums."""

    def __init__(self, scene: ShownScene, compare: Optional[ShownScene] = None,
                 cameras: Optional[Cameras] = None, options: ViewerOptions = ViewerOptions(),
                 server_render: bool = False):
        self.reps = {"scene": scene, "compare": compare}
        self.server_render = server_render
        self.cameras = cameras
        self.options = options
        self.shown = "scene"
        self.wipe = 0.0
        self.sh_degree = max(scene.max_sh_degree, compare.max_sh_degree if compare else 0)
        self.background = (1.0, 1.0, 1.0)
        self.keyframes: list[Cameras] = []
        self.outputs: list[str] = []
        self._version = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._play_stop = threading.Event()
        self._client_state: dict[int, dict] = {}
        self._nodes: dict[str, object] = {}
        self.server = None

    # ------------------------------------------------------------------------------------------ set-up

    def start(self) -> None:
        """Start the viser server (``options.host``/``options.port``) and the streaming thread."""
        import viser

        self.server = viser.ViserServer(host=self.options.host, port=self.options.port, verbose=False)
        self.server.gui.configure_theme(control_width="medium")
        lo, hi = self.reps["scene"].bounds()
        self._centre = ((lo + hi) / 2).numpy().astype(np.float64)
        self._extent = float((hi - lo).norm())
        self._set_initial_camera()
        for key, rep in self.reps.items():
            if rep is not None and rep.browser:
                self._add_splats(key)
        if self.cameras is not None:
            self._add_frustums()
        self._build_gui()
        self._update_display()
        self._thread = threading.Thread(target=self._stream_loop, name="stylize-view-stream", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.server.get_port()

    def stop(self) -> None:
        """Stop playback, the streaming thread and the server."""
        self._play_stop.set()
        self._stop.set()
        if getattr(self, "_thread", None) is not None:
            self._thread.join(timeout=10)
        if self.server is not None:
            self.server.stop()

    def _up(self) -> np.ndarray:
        if self.cameras is not None:
            up = self.cameras.up_dirs().to(torch.float64).mean(0)
            return (up / up.norm()).numpy()
        return np.array([0.0, 0.0, 1.0])

    def _set_initial_camera(self) -> None:
        up = self._up()
        self.server.scene.set_up_direction(tuple(up))
        if self.cameras is not None:
            start = self.cameras[0]
        else:
            start = path_around("orbit", 2, 256, 256, scene=self.reps["scene"])[0]
        pose = viser_pose(start)
        self.server.initial_camera.position = tuple(pose["position"])
        self.server.initial_camera.look_at = tuple(self._centre)
        self.server.initial_camera.up = tuple(up)
        self.server.initial_camera.fov = pose["fov"]

    def _add_splats(self, key: str, eye: Optional[np.ndarray] = None) -> None:
        arrays = self.reps[key].splat_arrays(self.sh_degree, eye)
        visible = self._node_visible(key)
        self._nodes[key] = self.server.scene.add_gaussian_splats(f"/{key}", **arrays, visible=visible)

    def _add_frustums(self) -> None:
        scale = 0.03 * self._extent
        for i in range(len(self.cameras)):
            pose = viser_pose(self.cameras, i)
            handle = self.server.scene.add_camera_frustum(
                f"/training_cameras/{i:03d}", fov=pose["fov"], aspect=pose["aspect"], scale=scale,
                wxyz=pose["wxyz"], position=pose["position"], color=(230, 120, 20), thickness=1.5,
                thickness_units="screen")
            handle.on_click(lambda event, i=i: self._jump_to(event.client, self.cameras[i]))

    def _build_gui(self) -> None:
        gui = self.server.gui
        scene, compare = self.reps["scene"], self.reps["compare"]
        lines = [f"**scene**: {scene.name}" + ("" if scene.browser else " (server-rendered)")]
        if compare is not None:
            lines.append(f"**compare**: {compare.name}" + ("" if compare.browser else " (server-rendered)"))
        gui.add_markdown("  \n".join(lines))
        if compare is not None:
            self._show = gui.add_button_group("show", SHOW_OPTIONS, hint="toggle SCENE / --compare at this camera")
            self._show.on_click(lambda event: self._set(shown=event.target.value))
            self._wipe = gui.add_slider("wipe", 0.0, 1.0, 0.01, 0.0,
                                        hint="0 or 1: off; in between SCENE is drawn left of the line and "
                                             "--compare right of it, both by our renderer on the server")
            self._wipe.on_update(lambda _: self._set(wipe=float(self._wipe.value)))
        self._status = gui.add_markdown(self._status_text())
        with gui.add_folder("Display"):
            if any(rep is not None and rep.browser for rep in self.reps.values()):
                draw = gui.add_button_group("draw", DRAW_OPTIONS, hint="browser: viser's WebGL splats; server: "
                                            "our renderer, streamed (always for scenes the browser cannot draw)")
                draw.on_click(lambda event: self._set(server_render=event.target.value == "server"))
            top = max(1, self.sh_degree)
            self._sh = gui.add_slider("SH degree", 0, top, 1, self.sh_degree, disabled=self.sh_degree == 0,
                                      hint="spherical-harmonic degree used for colours (0: view-independent)")
            self._sh.on_update(lambda _: self._set(sh_degree=int(self._sh.value)))
            self._bg = gui.add_rgb("background", (255, 255, 255))
            self._bg.on_update(lambda _: self._set(background=tuple(c / 255 for c in self._bg.value)))
            render_button = gui.add_button("render this view", hint=f"write a {self.options.render_size} px PNG "
                                           f"with our renderer into {self.options.out_dir}")
            render_button.on_click(lambda event: self._render_view(event.client))
        with gui.add_folder("Camera path"):
            self._kind = gui.add_dropdown("path", PLAY_KINDS, initial_value="orbit",
                                          hint="orbit/ellipse/spiral fitted to the cameras (or scene), the "
                                               "recorded keyframes, or a camera-path JSON file")
            self._frames = gui.add_number("frames", self.options.frames, min=2, max=10000, step=1)
            self._file = gui.add_text("path file", "", hint="camera-path .json (for path = file)")
            play = gui.add_button("play")
            play.on_click(lambda event: self._play(event.client))
            halt = gui.add_button("stop")
            halt.on_click(lambda _: self._play_stop.set())
            add = gui.add_button("add keyframe", hint="record the current view as the next keyframe")
            add.on_click(lambda event: self._add_keyframe(event.client))
            clear = gui.add_button("clear keyframes")
            clear.on_click(lambda _: self._clear_keyframes())
            save = gui.add_button("save path", hint="write the selected path as a camera-path JSON for "
                                  "`stylize render --path`")
            save.on_click(lambda event: self._save_path(event.client))
            self._path_status = gui.add_markdown("keyframes: 0")

    # ------------------------------------------------------------------------------------------ state

    def _server_mode(self) -> bool:
        if self.server_render or (self.reps["compare"] is not None and 0.0 < self.wipe < 1.0):
            return True
        return not self.reps[self.shown].browser

    def _node_visible(self, key: str) -> bool:
        return key == self.shown and not self._server_mode()

    def _status_text(self) -> str:
        mode = "wipe, server-rendered" if self._server_mode() and 0 < self.wipe < 1 else (
            "server-rendered" if self._server_mode() else "browser splats")
        return f"showing **{self.shown}** ({self.reps[self.shown].name}; {mode})"

    def _set(self, **changes) -> None:
        """Apply GUI changes (``shown``, ``wipe``, ``sh_degree``, ``background``, ``server_render``) and refresh
        what is drawn."""
        with self._lock:
            recolour = "sh_degree" in changes and changes["sh_degree"] != self.sh_degree
            for name, value in changes.items():
                setattr(self, name, value)
            self._version += 1
            if recolour:
                for key, rep in self.reps.items():
                    if rep is not None and rep.browser:
                        self._add_splats(key, self._last_eye())
            self._update_display()

    def _last_eye(self) -> Optional[np.ndarray]:
        for client in self.server.get_clients().values():
            return np.asarray(client.camera.position)
        return None

    def _update_display(self) -> None:
        with self._lock:
            for key, node in self._nodes.items():
                node.visible = self._node_visible(key)
            if not self._server_mode():
                colour = np.array([[self.background]], dtype=np.float32) * 255
                self.server.scene.set_background_image(np.broadcast_to(colour, (4, 4, 3)).astype(np.uint8),
                                                       format="png")
            self._status.content = self._status_text()

    # ------------------------------------------------------------------------------------------ rendering

    def client_camera(self, client, long_side: int) -> Cameras:
        """The client's current view as a one-entry :class:`Cameras` of ``long_side`` pixels (client aspect)."""
        cam = client.camera
        width, height = size_for_aspect(float(cam.aspect), long_side)
        return camera_from_viser(cam.wxyz, cam.position, float(cam.fov), width, height)

    def render_current(self, camera: Cameras) -> torch.Tensor:
        """What the GUI shows now (the shown scene, or the wipe), at ``camera``, by our renderer: ``1,3,H,W``."""
        width, height = int(camera.widths[0]), int(camera.heights[0])
        with self._lock:
            shown, wipe, degree, background = self.shown, self.wipe, self.sh_degree, self.background
        if self.reps["compare"] is not None and 0.0 < wipe < 1.0:
            left = self.reps["scene"].render(camera, width, height, background, degree)
            right = self.reps["compare"].render(camera, width, height, background, degree)
            return compose_wipe(left, right, wipe)
        return self.reps[shown].render(camera, width, height, background, degree)

    def _render_view(self, client) -> None:
        camera = self.client_camera(client, self.options.render_size)
        image = self.render_current(camera)
        path = self._next_output("view", ".png")
        save_image(image, path)
        self.outputs.append(str(path))
        client.add_notification("rendered", f"wrote {path}", auto_close_seconds=5.0)
        print(f"stylize view: wrote {path}", flush=True)

    def _next_output(self, stem: str, suffix: str) -> Path:
        self.options.out_dir.mkdir(parents=True, exist_ok=True)
        n = 0
        while (path := self.options.out_dir / f"{stem}_{n:03d}{suffix}").exists():
            n += 1
        return path

    def _stream_loop(self) -> None:
        while not self._stop.is_set():
            try:
                clients = list(self.server.get_clients().values())
                for client in clients:
                    self._stream_client(client)
            except Exception as exc:  # a client that disconnected mid-render; keep serving the others
                if not self._stop.is_set():
                    print(f"stylize view: streaming: {type(exc).__name__}: {exc}", flush=True)
            self._stop.wait(0.03)

    def _stream_client(self, client) -> None:
        cam = client.camera
        try:
            stamp = cam.update_timestamp
        except AttributeError:
            return
        if stamp == 0.0:
            return  # no camera message from this client yet
        state = self._client_state.setdefault(client.client_id, {})
        with self._lock:
            version, server_mode = self._version, self._server_mode()
        moving = time.time() - stamp < SETTLE_S
        if not server_mode:
            state.pop("key", None)
            if self.sh_degree > 0 and not moving and state.get("eye_stamp") != stamp:
                with self._lock:  # view-dependent colours for the browser, from the settled camera
                    for key, rep in self.reps.items():
                        if rep is not None and rep.browser and rep.max_sh_degree > 0:
                            self._add_splats(key, np.asarray(cam.position))
                state["eye_stamp"] = stamp
            return
        size = self.options.moving_size if moving else self.options.stream_size
        key = (stamp, version, float(cam.aspect))
        if state.get("key") == key and state.get("size", 0) >= size:
            return
        image = to_uint8(self.render_current(self.client_camera(client, size)))
        with self._lock:
            if self._version != version or not self._server_mode():
                return
            client.scene.set_background_image(image, format="jpeg", jpeg_quality=90)
        state.update(key=key, size=size)

    # ------------------------------------------------------------------------------------------ cameras

    def _jump_to(self, client, camera: Cameras) -> None:
        """Move ``client``'s view to ``camera`` (one entry)."""
        pose = viser_pose(camera)
        with client.atomic():
            client.camera.fov = pose["fov"]
            client.camera.position = pose["position"]
            client.camera.wxyz = pose["wxyz"]

    def _add_keyframe(self, client) -> None:
        self.keyframes.append(self.client_camera(client, self.options.stream_size))
        self._path_status.content = f"keyframes: {len(self.keyframes)}"

    def _clear_keyframes(self) -> None:
        self.keyframes.clear()
        self._path_status.content = "keyframes: 0"

    def selected_path(self, aspect: float) -> Cameras:
        """The path the GUI selects (kind, frames, file) for images of the given aspect."""
        kind, frames = self._kind.value, int(self._frames.value)
        width, height = size_for_aspect(aspect, self.options.stream_size)
        if kind == "file":
            return read_camera_path(self._file.value)
        if kind == "keyframes":
            return interpolate(cat_cameras(self.keyframes), frames)
        if self.cameras is not None:
            return path_around(kind, frames, width, height, cameras=self.cameras, up=torch.tensor(self._up()))
        return path_around(kind, frames, width, height, scene=self.reps["scene"])

    def _save_path(self, client) -> None:
        try:
            path = self.selected_path(float(client.camera.aspect))
        except Exception as exc:  # InputError from a bad file or too few keyframes: tell the user in the tab
            client.add_notification("cannot save the path", str(exc), auto_close_seconds=8.0)
            return
        out = self._next_output("camera_path", ".json")
        write_camera_path(path, out)
        self.outputs.append(str(out))
        client.add_notification("saved", f"wrote {out} ({len(path)} frames)", auto_close_seconds=5.0)
        print(f"stylize view: wrote {out}", flush=True)

    def _play(self, client) -> None:
        try:
            path = self.selected_path(float(client.camera.aspect))
        except Exception as exc:
            client.add_notification("cannot play the path", str(exc), auto_close_seconds=8.0)
            return
        self._play_stop.clear()
        for i in range(len(path)):
            if self._play_stop.is_set() or self._stop.is_set():
                break
            self._jump_to(client, path[i])
            time.sleep(1.0 / self.options.fps)
