import sys, numpy as np, onnxruntime as ort
H, W = int(sys.argv[1]), int(sys.argv[2]); ref = np.load(f"/tmp/onnxspike/ref_{H}x{W}.npz")
so = ort.SessionOptions(); so.intra_op_num_threads = 2
fwd = ort.InferenceSession("/tmp/onnxspike/vgg_fwd.onnx", so, providers=["CPUExecutionProvider"])
gs = fwd.run(None, {"x": ref["style"]}); R = fwd.run(["relu4_2"], {"x": ref["content"]})[0]
layers = ["relu1_1","relu2_1","relu3_1","relu4_1"]
for l, G in zip(layers, gs[:4]):
    print(f"target Gram {l}: rel err vs torch {np.abs(G-ref['A_'+l]).max()/np.abs(ref['A_'+l]).max():.2e}")
print(f"relu4_2 target: rel err {np.abs(R-ref['R']).max()/np.abs(ref['R']).max():.2e}")
for v in ["convT", "flipconv"]:
    s = ort.InferenceSession(f"/tmp/onnxspike/vgg_grad_{v}.onnx", so, providers=["CPUExecutionProvider"])
    feed = {"x": ref["x"], "R": R, "sw": np.array(5.0, np.float32), "cw": np.array(1.0, np.float32), **{f"A_{l}": G for l, G in zip(layers, gs[:4])}}
    loss, grad, st, ct = s.run(None, feed)
    g0 = ref["grad"]
    print(f"[{v}] loss ort {float(loss):.6f} torch {float(ref['loss']):.6f} (style {float(st):.6f}/{float(ref['sterm'])*5:.6f}, content {float(ct):.6f}/{float(ref['cterm']):.6f})")
    print(f"[{v}] grad rel err: max|d|/max|g| {np.abs(grad-g0).max()/np.abs(g0).max():.2e}, ||d||/||g|| {np.linalg.norm(grad-g0)/np.linalg.norm(g0):.2e}")
