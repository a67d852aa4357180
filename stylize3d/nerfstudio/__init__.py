"""nerfstudio plug-in: the ``stylize-splat`` method (an optional extra; see README "From nerfstudio").

Importing this package imports nothing from nerfstudio: :mod:`.bridge` is plain torch (splatfacto tensors ↔ our
scenes and cameras, tested in the main suite), while :mod:`.model` (the splatfacto subclass) and :mod:`.method`
(the ``MethodSpecification`` behind the ``nerfstudio.method_configs`` entry point) need nerfstudio 1.1.5 and are
imported only by nerfstudio's method discovery (``ns-train``, ``ns-viewer``, ``ns-render``).
"""
