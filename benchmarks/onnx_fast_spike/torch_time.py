"""Torch: import time, and forward+backward of the repo's relative Gram+content objective at H x W, 2 threads."""
import os, sys, time, statistics
t0 = time.perf_counter(); import torch; t_imp = time.perf_counter() - t0
torch.set_num_threads(int(os.environ.get("TT", "2")))
sys.path.insert(0, "/work/main")
t0 = time.perf_counter()
from core.nn.vgg import load_vgg19
from core.losses.objective import StyleObjective, StyleLossConfig
bf16 = False
enc = load_vgg19("cpu", autocast_cpu_bf16=None if bf16 else False)
t_load = time.perf_counter() - t0
H, W = int(sys.argv[1]), int(sys.argv[2])
print(f"load {os.getloadavg()}  torch import {t_imp:.3f}s  repo import+VGG load {t_load:.3f}s  bf16={enc.autocast_cpu_bf16}")
g = torch.Generator().manual_seed(0)
x = torch.rand(1,3,H,W, generator=g); style = torch.rand(1,3,H,W, generator=g); content = torch.rand(1,3,H,W, generator=g)
cfg = StyleLossConfig(kind="gram", style_weight=5.0, content_weight=1.0, style_layers=("relu1_1","relu2_1","relu3_1","relu4_1"))
t0 = time.perf_counter(); obj = StyleObjective(cfg, "cpu", enc).set_style([style], max(H, W)); print(f"style targets {time.perf_counter()-t0:.3f}s")
def ev():
    xr = x.clone().requires_grad_(True)
    t = obj.terms(xr, content, key="c"); obj.weighted_total(t).backward()
t0 = time.perf_counter(); ev(); first = time.perf_counter() - t0
ts = []
for i in range(5):
    t0 = time.perf_counter(); ev(); ts.append(time.perf_counter() - t0)
print(f"torch first eval {first:.3f}s (incl. content target), fwd+bwd median {statistics.median(ts):.3f}s all {[round(t,3) for t in ts]} load {os.getloadavg()[0]:.2f}")
