"""Shared core of the toolkit: VGG19 encoder, losses, colour, optimisation loop, I/O, CLI registry.

The core knows nothing of the front ends (``stylize3d``, ``vector``); they build on it.
Image convention everywhere: float32 tensors ``B,3,H,W`` in ``[0, 1]``, RGB.
"""

__version__ = "0.1.0"
