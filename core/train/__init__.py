"""Training of the feed-forward decoder (``stylize train-decoder``): data, loop, loss log and curve."""
