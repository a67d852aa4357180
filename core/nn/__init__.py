"""Neural network modules of the core: the VGG19 encoder (and, later, decoders)."""
