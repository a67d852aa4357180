"""Time ORT session creation and one loss+grad evaluation at H x W (median of 5 after 1 warm-up)."""
import os, sys, time, statistics, numpy as np
t0 = time.perf_counter(); import onnxruntime as ort; t_imp = time.perf_counter() - t0
H, W = int(sys.argv[1]), int(sys.argv[2]); variants = sys.argv[3:] or ["convT", "flipconv"]
print(f"load: {os.getloadavg()}  ort import {t_imp:.3f}s  ort {ort.__version__}")
so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
rng = np.random.default_rng(0)
t0 = time.perf_counter(); fwd = ort.InferenceSession("/tmp/onnxspike/vgg_fwd.onnx", so, providers=["CPUExecutionProvider"])
print(f"fwd session create {time.perf_counter()-t0:.3f}s")
style = rng.random((1,3,H,W), dtype=np.float32); content = rng.random((1,3,H,W), dtype=np.float32)
ts = []
for i in range(3):
    t0 = time.perf_counter(); gs = fwd.run(None, {"x": style}); ts.append(time.perf_counter()-t0)
print(f"fwd (targets) run: first {ts[0]:.3f}s, then {ts[1]:.3f} {ts[2]:.3f}s")
R = fwd.run(["relu4_2"], {"x": content})[0]
layers = ["relu1_1","relu2_1","relu3_1","relu4_1"]
x = rng.random((1,3,H,W), dtype=np.float32)
for v in variants:
    t0 = time.perf_counter(); s = ort.InferenceSession(f"/tmp/onnxspike/vgg_grad_{v}.onnx", so, providers=["CPUExecutionProvider"])
    tc = time.perf_counter() - t0
    feed = {"x": x, "R": R, "sw": np.array(5.0, np.float32), "cw": np.array(1.0, np.float32), **{f"A_{l}": G for l, G in zip(layers, gs[:4])}}
    t0 = time.perf_counter(); s.run(None, feed); first = time.perf_counter() - t0
    ts = []
    for i in range(5):
        t0 = time.perf_counter(); s.run(None, feed); ts.append(time.perf_counter() - t0)
    print(f"[{v}] session create {tc:.3f}s, first eval {first:.3f}s, loss+grad median {statistics.median(ts):.3f}s  all {[round(t,3) for t in ts]}  load {os.getloadavg()[0]:.2f}")
