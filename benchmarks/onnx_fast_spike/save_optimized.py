"""Pre-optimise the graphs offline (so the command's session creation can skip graph optimisation)."""
import onnxruntime as ort
for n in ["vgg_fwd", "vgg_grad_flipconv"]:
    so = ort.SessionOptions(); so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = f"/tmp/onnxspike/{n}.opt.onnx"
    ort.InferenceSession(f"/tmp/onnxspike/{n}.onnx", so, providers=["CPUExecutionProvider"])
print("saved")
