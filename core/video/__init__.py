"""Video path: streamed I/O, optical flow, occlusion masks, warping, temporal consistency and metrics.

Frames are ``1,3,H,W`` float32 tensors in ``[0, 1]``; flows are ``1,2,H,W`` float32 in pixels (x, y).
"""
