import sys, numpy as np
sys.path.insert(0, "/work/main")
from core.nn.vgg import load_vgg19, LAYERS
enc = load_vgg19("cpu", autocast_cpu_bf16=False)
names = []
for name, kind, b, i in LAYERS:
    if kind == "conv":
        c = enc.convs[name]
        np.save(f"/tmp/onnxspike/w/{name}_W.npy", c.weight.detach().numpy().astype(np.float32))
        np.save(f"/tmp/onnxspike/w/{name}_b.npy", c.bias.detach().numpy().astype(np.float32))
        names.append(name)
    if name == "relu4_2": break
print(names)
