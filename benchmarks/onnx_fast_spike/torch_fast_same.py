"""Run the repo's fast-path optimisation (StyleObjective + core.optimize L-BFGS, fp32) on the exact arrays the ORT
prototype used (npz from stylize_ort.py --dump); print its loss history and the difference of the final images."""
import sys, time, numpy as np, torch
sys.path.insert(0, "/work/main"); torch.set_num_threads(2)
from core.image.fast import FastConfig
from core.losses.objective import StyleObjective
from core.nn.vgg import load_vgg19
from core.optimize import optimize
d = np.load(sys.argv[1]); small = torch.from_numpy(d["small"]); style = torch.from_numpy(d["style"]); start = torch.from_numpy(d["start"])
cfg = FastConfig(); enc = load_vgg19("cpu", autocast_cpu_bf16=False)
obj = StyleObjective(cfg.loss_config(), "cpu", enc).set_style([style], max(small.shape[-2:]))
x = start.clone().requires_grad_(True)
def loss_fn():
    t = obj.terms(x, small, key="content"); return {**t, "total": obj.weighted_total(t)}
t0 = time.perf_counter()
r = optimize([x], loss_fn, cfg.steps, optimizer="lbfgs", lr=1.0, project=lambda: x.clamp_(0, 1), keep="last")
print(f"torch optimise {time.perf_counter()-t0:.3f}s")
print("torch hist (total, 5*style, content):", [(round(h['total'],4), round(5*h['style'],4), round(h['content'],4)) for h in r.history])
print("ort   hist:", [tuple(round(float(v),4) for v in h) for h in d["hist"]])
f = x.detach().numpy(); print(f"final image max|torch-ort| {np.abs(f-d['final']).max():.2e}, mean {np.abs(f-d['final']).mean():.2e}")
