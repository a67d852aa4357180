"""Registers the core's own subcommands (``image``, ``metrics``, ``demo``, ``gallery``) with the ``stylize`` CLI."""


def register(subparsers) -> None:
    from core.demo import register as register_demo
    from core.gallery_cli import register as register_gallery
    from core.image.cli import register as register_image
    from core.metrics_cli import register as register_metrics

    register_image(subparsers)
    register_metrics(subparsers)
    register_demo(subparsers)
    register_gallery(subparsers)
