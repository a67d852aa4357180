"""``stylize view``: a local interactive viewer (viser) for original and stylized 3D scenes.

- :mod:`.cameras`: viser's camera (OpenCV camera-to-world quaternion, position, vertical fov) <-> our
  :class:`~stylize3d.cameras.Cameras`.
- :mod:`.shown_scene`: what the viewer shows. :class:`~.shown_scene.BrowserSplats` sends Gaussian splats
  to the browser (viser's WebGL splat renderer); :class:`~.shown_scene.ServerRendered` wraps any
  ``render_fn`` (radiance fields, or splats when asked) whose frames our renderer makes on the server and streams
  as the background image.
- :mod:`.app`: the viser server, its GUI and the streaming thread. :mod:`.cli`: the ``view`` command.
"""
