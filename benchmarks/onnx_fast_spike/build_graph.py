"""Hand-built ONNX graphs: VGG19 (to relu4_2) forward + relative Gram/content loss + analytic gradient dL/dx.

Usage: python build_graph.py [convT|flipconv]   -> writes vgg_grad_<variant>.onnx and vgg_fwd.onnx
Inputs of the grad graph: x (1,3,H,W) RGB [0,1]; A_relu1_1..A_relu4_1 (C,C) target Grams (F F^T/(HW));
R (1,512,h,w) relu4_2 content target; sw, cw (1,) style/content weights.
Outputs: loss (scalar), grad (1,3,H,W), style, content.
Loss = sw * sum_l ||G_l-A_l||^2 / (L ||A_l||^2) + cw * ||F-R||^2/||R||^2   (== core.losses.objective's relative gram+content)
"""
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh

W = "/tmp/onnxspike/w"
MEAN = np.array([103.939, 116.779, 123.68], np.float32)
SEQ = ["conv1_1","relu1_1","conv1_2","relu1_2","pool1","conv2_1","relu2_1","conv2_2","relu2_2","pool2",
       "conv3_1","relu3_1","conv3_2","relu3_2","conv3_3","relu3_3","conv3_4","relu3_4","pool3",
       "conv4_1","relu4_1","conv4_2","relu4_2"]
STYLE = ["relu1_1","relu2_1","relu3_1","relu4_1"]
CH = {"relu1_1":64,"relu2_1":128,"relu3_1":256,"relu4_1":512}

class G:
    def __init__(s): s.nodes, s.inits, s.n = [], [], 0
    def c(s, arr, name=None):
        s.n += 1; name = name or f"const{s.n}"
        s.inits.append(nh.from_array(np.asarray(arr), name)); return name
    def op(s, t, ins, nout=1, **kw):
        s.n += 1; outs = [f"{t}_{s.n}_{k}" for k in range(nout)]
        s.nodes.append(h.make_node(t, ins, outs, **kw)); return outs[0] if nout == 1 else outs

def forward(g, x, with_idx):
    # Caffe preprocessing: RGB->BGR, *255, -mean  (explicit so that zero padding matches the torch encoder)
    bgr = g.op("Gather", [x, g.c(np.array([2,1,0], np.int64))], axis=1)
    y = g.op("Sub", [g.op("Mul", [bgr, g.c(np.float32(255.0))]), g.c(MEAN.reshape(1,3,1,1))])
    acts, tape = {}, []   # tape: (kind, name, input_tensor_name, output_tensor_name, extra)
    for name in SEQ:
        if name.startswith("conv"):
            Wn, bn = g.c(np.load(f"{W}/{name}_W.npy"), name+"_W"), g.c(np.load(f"{W}/{name}_b.npy"), name+"_b")
            out = g.op("Conv", [y, Wn, bn], pads=[1,1,1,1], kernel_shape=[3,3])
            tape.append(("conv", name, y, out, Wn))
        elif name.startswith("relu"):
            out = g.op("Relu", [y]); tape.append(("relu", name, y, out, None))
        else:
            if with_idx:
                out, idx = g.op("MaxPool", [y], nout=2, kernel_shape=[2,2], strides=[2,2])
            else:
                out, idx = g.op("MaxPool", [y], kernel_shape=[2,2], strides=[2,2]), None
            tape.append(("pool", name, y, out, idx))
        acts[name] = out; y = out
    return acts, tape

def gram(g, F):
    sq = g.op("Squeeze", [F, g.c(np.array([0], np.int64))])           # C,H,W
    flat = g.op("Flatten", [sq], axis=1)                               # C,N
    n = g.op("Cast", [g.op("Gather", [g.op("Shape", [flat]), g.c(np.array(1, np.int64))])], to=T.FLOAT)
    G_ = g.op("Div", [g.op("MatMul", [flat, g.op("Transpose", [flat], perm=[1,0])]), n])
    return G_, flat, n

def build_fwd():
    g = G()
    acts, _ = forward(g, "x", with_idx=False)
    outs = []
    for l in STYLE:
        G_, _, _ = gram(g, acts[l]); g.nodes.append(h.make_node("Identity", [G_], [f"G_{l}"])); outs.append(f"G_{l}")
    g.nodes.append(h.make_node("Identity", [acts["relu4_2"]], ["relu4_2"])); outs.append("relu4_2")
    graph = h.make_graph(g.nodes, "vgg_fwd", [h.make_tensor_value_info("x", T.FLOAT, [1,3,"H","W"])],
                         [h.make_tensor_value_info(f"G_{l}", T.FLOAT, [CH[l], CH[l]]) for l in STYLE]
                         + [h.make_tensor_value_info("relu4_2", T.FLOAT, [1,512,"h4","w4"])], g.inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])

def build_grad(variant):
    g = G()
    acts, tape = forward(g, "x", with_idx=True)
    sw, cw = "sw", "cw"
    L = np.float32(len(STYLE))
    adj = {}   # gradient wrt activation tensor name
    style_terms = []
    for l in STYLE:
        A = f"A_{l}"
        G_, flat, n = gram(g, acts[l])
        D = g.op("Sub", [G_, A])
        s_l = g.op("Div", [sw, g.op("Mul", [g.c(L), g.op("ReduceSumSquare", [A], keepdims=0)])])   # sw/(L||A||^2)
        style_terms.append(g.op("Mul", [s_l, g.op("ReduceSumSquare", [D], keepdims=0)]))
        gflat = g.op("Mul", [g.op("MatMul", [D, flat]), g.op("Div", [g.op("Mul", [s_l, g.c(np.float32(4.0))]), n])])
        adj[acts[l]] = g.op("Reshape", [gflat, g.op("Shape", [acts[l]])])
    style = style_terms[0]
    for t in style_terms[1:]: style = g.op("Add", [style, t])
    # content: cw * ||F-R||^2/||R||^2
    F4 = acts["relu4_2"]; E = g.op("Sub", [F4, "R"])
    cs = g.op("Div", [cw, g.op("ReduceSumSquare", ["R"], keepdims=0)])
    content = g.op("Mul", [cs, g.op("ReduceSumSquare", [E], keepdims=0)])
    adj[F4] = g.op("Mul", [E, g.op("Mul", [cs, g.c(np.float32(2.0))])])
    loss = g.op("Add", [style, content])
    # backward
    for kind, name, inp, out, extra in reversed(tape):
        gout = adj.pop(out)
        if kind == "relu":
            gin = g.op("Mul", [gout, g.op("Sign", [out])])      # out >= 0, so Sign = 1[out>0]
        elif kind == "conv":
            if variant == "convT":
                gin = g.op("ConvTranspose", [gout, extra], pads=[1,1,1,1], kernel_shape=[3,3])
            else:   # conv with the flipped, transposed kernel (the adjoint, via the optimised Conv kernel)
                Wf = np.load(f"{W}/{name}_W.npy")[:, :, ::-1, ::-1].transpose(1,0,2,3).copy()
                gin = g.op("Conv", [gout, g.c(Wf, name+"_Wadj")], pads=[1,1,1,1], kernel_shape=[3,3])
        else:
            gin = g.op("MaxUnpool", [gout, extra, g.op("Shape", [inp])], kernel_shape=[2,2], strides=[2,2])
        adj[inp] = g.op("Add", [adj[inp], gin]) if inp in adj else gin
    gpre = adj.pop(tape[0][2])
    gx = g.op("Gather", [g.op("Mul", [gpre, g.c(np.float32(255.0))]), g.c(np.array([2,1,0], np.int64))], axis=1)
    for src, dst in [(loss,"loss"),(gx,"grad"),(style,"style"),(content,"content")]:
        g.nodes.append(h.make_node("Identity", [src], [dst]))
    ins = [h.make_tensor_value_info("x", T.FLOAT, [1,3,"H","W"])]
    ins += [h.make_tensor_value_info(f"A_{l}", T.FLOAT, [CH[l], CH[l]]) for l in STYLE]
    ins += [h.make_tensor_value_info("R", T.FLOAT, [1,512,"h4","w4"]),
            h.make_tensor_value_info("sw", T.FLOAT, []), h.make_tensor_value_info("cw", T.FLOAT, [])]
    outs = [h.make_tensor_value_info("loss", T.FLOAT, []), h.make_tensor_value_info("grad", T.FLOAT, [1,3,"H","W"]),
            h.make_tensor_value_info("style", T.FLOAT, []), h.make_tensor_value_info("content", T.FLOAT, [])]
    graph = h.make_graph(g.nodes, "vgg_gram_grad", ins, outs, g.inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])

if __name__ == "__main__":
    for variant in (sys.argv[1:] or ["convT", "flipconv"]):
        m = build_grad(variant); onnx.checker.check_model(m); onnx.save(m, f"/tmp/onnxspike/vgg_grad_{variant}.onnx")
    m = build_fwd(); onnx.checker.check_model(m); onnx.save(m, "/tmp/onnxspike/vgg_fwd.onnx")
    print("ok")
