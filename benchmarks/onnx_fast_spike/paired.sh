#!/bin/bash
# Interleaved whole-command timings: ORT prototype (2 threads / 1 thread, no spinning) vs the repo's torch CLI.
C=/work/main/scenes/images/parrots.png; S=/work/main/scenes/images/starry_night.jpg; PY=/work/main/.venv/bin/python
for r in 1 2 3; do
  echo "== round $r  $(uptime | sed 's/.*load/load/')"
  /usr/bin/time -f "ORT  t=2 whole wall %e s" env PYTHONPATH=/tmp/onnxspike/site $PY /tmp/onnxspike/stylize_ort.py $C $S /tmp/onnxspike/out_ort.png --threads 2 | grep -E "L-BFGS|targets"
  /usr/bin/time -f "ORT  t=1 whole wall %e s" env PYTHONPATH=/tmp/onnxspike/site $PY /tmp/onnxspike/stylize_ort.py $C $S /tmp/onnxspike/out_ort1.png --threads 1 | grep -E "L-BFGS|targets"
  /usr/bin/time -f "TORCH CLI whole wall %e s" /work/main/.venv/bin/stylize image $C $S -o /tmp/onnxspike/out_torch.png --method fast --size 512 >/dev/null 2>&1
  /usr/bin/time -f "TORCH 'import torch' only wall %e s" $PY -c "import torch"
done 2>&1
