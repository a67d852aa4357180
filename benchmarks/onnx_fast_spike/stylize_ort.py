"""Torch-free `stylize image --method fast` prototype: PIL + numpy + onnxruntime (2 threads).
Usage: python stylize_ort.py CONTENT STYLE OUT.png [--size 512] [--work 256] [--steps 3] [--variant flipconv]
Prints a per-phase timeline (seconds since interpreter start is approximated by time since this module began)."""
import time; T0 = time.perf_counter()
import argparse, os, sys
import numpy as np
from PIL import Image
t_np_pil = time.perf_counter() - T0
import onnxruntime as ort
t_ort = time.perf_counter() - T0
marks = [("import numpy+PIL", t_np_pil), ("import onnxruntime", t_ort)]
def mark(label): marks.append((label, time.perf_counter() - T0))

p = argparse.ArgumentParser(); p.add_argument("content"); p.add_argument("style"); p.add_argument("out")
p.add_argument("--size", type=int, default=512); p.add_argument("--work", type=int, default=256)
p.add_argument("--steps", type=int, default=3); p.add_argument("--variant", default="flipconv")
p.add_argument("--threads", type=int, default=2); p.add_argument("--spin", default="0")
p.add_argument("--opt", action="store_true", help="load the pre-optimised .opt.onnx graphs")
p.add_argument("--level", default="all", choices=["all", "extended", "basic", "disable"])
p.add_argument("--png-level", type=int, default=6)
p.add_argument("--fast-exit", action="store_true", help="os._exit(0) at the end (skip teardown)")
p.add_argument("--dump", default=None, help="npz of inputs/outputs for the torch comparison")
a = p.parse_args()
LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]

def load(path, long_side):
    im = Image.open(path).convert("RGB"); w, h = im.size; s = long_side / max(w, h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if size != im.size: im = im.resize(size, Image.BICUBIC)   # PIL bicubic is antialiased when shrinking
    return np.asarray(im, np.float32).transpose(2, 0, 1)[None] / 255.0

def resize_f(x, size):   # x 1,3,H,W float -> 1,3,h,w via PIL 'F' (float) bicubic per channel; size=(w,h)
    return np.stack([np.asarray(Image.fromarray(c, "F").resize(size, Image.BICUBIC)) for c in x[0]])[None]

def mean_cov(px):
    px = px.astype(np.float64); mu = px.mean(0); c = px - mu
    return mu, c.T @ c / max(len(px), 1) + 1e-5 * np.eye(3)
def sym_pow(m, p):
    v, V = np.linalg.eigh(m); return V @ np.diag(np.maximum(v, 1e-5) ** p) @ V.T
def match_colour(img, ref):
    mu_s, cs = mean_cov(img[0].reshape(3, -1).T); mu_t, ct = mean_cov(ref[0].reshape(3, -1).T)
    A = sym_pow(ct, 0.5) @ sym_pow(cs, -0.5); b = mu_t - A @ mu_s
    return np.clip(np.einsum("ij,bjhw->bihw", A.astype(np.float32), img) + b.astype(np.float32).reshape(1, 3, 1, 1), 0, 1)

content = load(a.content, a.size); style = load(a.style, min(a.size, a.work))
H, W = content.shape[-2:]; s = a.work / max(H, W)
small = resize_f(content, (round(W * s), round(H * s))).clip(0, 1) if max(H, W) > a.work else content
mark("read+resize images")
start = match_colour(small, style).astype(np.float32)
mark("colour transfer")
so = ort.SessionOptions(); so.intra_op_num_threads = a.threads; so.inter_op_num_threads = 1
so.add_session_config_entry("session.intra_op.allow_spinning", a.spin)
so.graph_optimization_level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC, "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[a.level]
SUF = ".opt.onnx" if a.opt else ".onnx"
prov = ["CPUExecutionProvider"]
fwd = ort.InferenceSession("/tmp/onnxspike/vgg_fwd" + SUF, so, providers=prov)
mark("fwd session")
grams = fwd.run([f"G_{l}" for l in LAYERS], {"x": style})
R = fwd.run(["relu4_2"], {"x": np.ascontiguousarray(small, np.float32)})[0]
mark("targets (style Grams + content relu4_2)")
sess = ort.InferenceSession(f"/tmp/onnxspike/vgg_grad_{a.variant}" + SUF, so, providers=prov)
mark("grad session")
feed = {"R": R, "sw": np.array(5.0, np.float32), "cw": np.array(1.0, np.float32), **{f"A_{l}": g for l, g in zip(LAYERS, grams)}}
def f(x):
    feed["x"] = x.reshape(start.shape).astype(np.float32)
    loss, grad, st, ct = sess.run(["loss", "grad", "style", "content"], feed)
    return float(loss), grad.ravel().astype(np.float64), float(st), float(ct)

# L-BFGS exactly as torch.optim.LBFGS(lr=1, max_iter=1, history_size=100, no line search), clamp after each step
x = start.ravel().astype(np.float64); dirs, stps, ros = [], [], []; prev_g = d = t = None; Hd = 1.0; hist = []
for it in range(a.steps):
    loss, g, st, ct = f(x); hist.append((loss, st, ct))
    if np.abs(g).max() <= 1e-7: break
    if it == 0: d = -g
    else:
        y = g - prev_g; sv = d * t; ys = y @ sv
        if ys > 1e-10:
            if len(dirs) == 100: dirs.pop(0); stps.pop(0); ros.pop(0)
            dirs.append(y); stps.append(sv); ros.append(1.0 / ys); Hd = ys / (y @ y)
        q = -g; al = [0.0] * len(dirs)
        for i in range(len(dirs) - 1, -1, -1): al[i] = (stps[i] @ q) * ros[i]; q = q - al[i] * dirs[i]
        r = q * Hd
        for i in range(len(dirs)): r = r + stps[i] * (al[i] - (dirs[i] @ r) * ros[i])
        d = r
    prev_g = g.copy()
    t = min(1.0, 1.0 / np.abs(g).sum()) if it == 0 else 1.0
    if g @ d > -1e-9: break
    x = np.clip(x + t * d, 0, 1)
mark(f"{a.steps} L-BFGS steps ({len(hist)} loss+grad evals)")
xs = x.reshape(start.shape).astype(np.float32)
up = resize_f(xs, (W, H)); base = resize_f(small, (W, H))
img = np.clip(up + (content - base), 0, 1)
mark("bicubic upsample + detail")
Image.fromarray((img[0].transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)).save(a.out, compress_level=a.png_level)
mark("PNG write")
if a.dump: np.savez(a.dump, content=content, style=style, small=small, start=start, final=xs, hist=np.array(hist))
prev = 0.0
for label, t_ in marks: print(f"  {label:42s} {t_ - prev:7.3f}s  (cum {t_:.3f}s)"); prev = t_
print("  loss history (total, 5*style, content):", [tuple(round(v, 4) for v in h) for h in hist])
print(f"  work {small.shape[-1]}x{small.shape[-2]}, out {W}x{H}, load {os.getloadavg()[0]:.2f}")
sys.stdout.flush()
if a.fast_exit: os._exit(0)
