"""Torch autograd reference on the repo's own StyleObjective (fp32, no bf16). Writes ref_<H>x<W>.npz."""
import sys, numpy as np, torch
sys.path.insert(0, "/work/main")
from core.nn.vgg import load_vgg19
from core.losses.objective import StyleObjective, StyleLossConfig
H, W = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
x = torch.rand(1,3,H,W); style = torch.rand(1,3,H,W); content = torch.rand(1,3,H,W)
enc = load_vgg19("cpu", autocast_cpu_bf16=False)
cfg = StyleLossConfig(kind="gram", style_weight=5.0, content_weight=1.0,
                      style_layers=("relu1_1","relu2_1","relu3_1","relu4_1"), style_scale=1.0)
obj = StyleObjective(cfg, "cpu", enc).set_style([style], max(H, W))
xr = x.clone().requires_grad_(True)
terms = obj.terms(xr, content, key="c"); total = obj.weighted_total(terms); total.backward()
feats = enc(content, ["relu4_2"])
np.savez(f"/tmp/onnxspike/ref_{H}x{W}.npz", x=x.numpy(), style=style.numpy(), content=content.numpy(),
         loss=total.item(), sterm=terms["style"].item(), cterm=terms["content"].item(), grad=xr.grad.numpy(),
         R=feats["relu4_2"].numpy(), **{f"A_{n}": t.numpy() for n, t in obj.targets.items()})
print("torch loss", total.item(), "style", terms["style"].item(), "content", terms["content"].item())
