"""Video path: streamed I/O, optical flow, occlusion masks, warping, temporal consistency and metrics;
:func:`core.video.stylize.stylize_video` the one library call, :mod:`core.video.frame_loop` the checkpointed frame
loop every video front end (``stylize video``, ``stylize paint VIDEO``) runs on.

Frames are ``1,3,H,W`` float32 tensors in ``[0, 1]``; flows are ``1,2,H,W`` float32 in pixels (x, y).
"""
