"""ORT option sweep for the grad graph at H x W: threads, spinning. Fresh process per config (first eval matters)."""
import os, sys, time, statistics, numpy as np, onnxruntime as ort
H, W, thr, spin, var = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
so = ort.SessionOptions(); so.intra_op_num_threads = thr; so.inter_op_num_threads = 1
so.add_session_config_entry("session.intra_op.allow_spinning", spin)
rng = np.random.default_rng(0); layers = ["relu1_1","relu2_1","relu3_1","relu4_1"]; CH = [64,128,256,512]
t0 = time.perf_counter(); s = ort.InferenceSession(f"/tmp/onnxspike/vgg_grad_{var}.onnx", so, providers=["CPUExecutionProvider"]); tc = time.perf_counter()-t0
h4, w4 = H // 8, W // 8
feed = {"x": rng.random((1,3,H,W), dtype=np.float32), "R": rng.random((1,512,h4,w4), dtype=np.float32),
        "sw": np.array(5.0, np.float32), "cw": np.array(1.0, np.float32), **{f"A_{l}": rng.random((c,c), dtype=np.float32) for l, c in zip(layers, CH)}}
ts = []
for i in range(6):
    t0 = time.perf_counter(); s.run(None, feed); ts.append(time.perf_counter()-t0)
print(f"{var:8s} threads={thr} spin={spin}: create {tc:.3f}s first {ts[0]:.3f}s median(5) {statistics.median(ts[1:]):.3f}s {[round(t,3) for t in ts[1:]]} load {os.getloadavg()[0]:.2f}")
