"""Names of the 2D stylization methods, without torch (``stylize image --help`` lists them before torch loads)."""

FEEDFORWARD_METHODS = ("adain", "wct")
"""One forward pass through encoder, feature transform and the shipped decoder (:mod:`core.image.feedforward`)."""
IMAGE_METHODS = ("gatys", "fast", *FEEDFORWARD_METHODS, "styleid", "zstar")
"""What :func:`core.image.methods.stylize_image` accepts."""
