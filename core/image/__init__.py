"""2D image stylizers (optimisation-based now; feed-forward decoders later) and the ``stylize image`` command."""
