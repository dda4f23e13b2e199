#!/usr/bin/env bash
# Everything that needs a GPU, in one run (the device machine: torch + CUDA, nvcc, CuPy; no
# TensorRT, no onnxruntime-gpu). Writes into $OUT (default ./gpu-out):
#   log.txt                 the whole output
#   bench-torch-cuda.json   streamedit bench --backend torch-cuda at 512x512, 1280x720, 1920x1080
#   bench-ort-cpu.json      the host pipeline (ort-cpu) on the same machine, same sizes
#   bench-torch-cuda-2mesh.json      the same with --landmark-threads 2
#   bench-low-latency.json  torch-cuda --low-latency (lagged landmarks, deferred reference swaps)
#   bench-low-latency-2mesh.json     the same with --landmark-threads 2
#   bench-dinov2-low-latency.json    the DINOv2 backbone with --low-latency at 720p
#   bench-torch-cuda-nographs.json   the same at 720p with --no-cuda-graphs
#   bench-dinov2.json       torch-cuda with a DINOv2 ViT-S/14 backbone (random weights) at 720p
#   memcheck.txt            compute-sanitizer --tool memcheck over the CUDA kernel tests
# SUBSET=latency runs only the latency checks: the low-latency tests on the GPU and the benches
# torch-cuda, --low-latency (one and two mesh threads) and DINOv2 --low-latency (5 files; the
# device tool brings back at most 8, so the full run's log and memcheck may stay behind).
# Wheels the machine lacks are read from .whl/ when that folder is there: mediapipe 1.2.x (the
# py3-none wheel, 43 MB) and certifi, which it imports (pip download --no-deps -d .whl
# 'mediapipe>=1.2' certifi). mediapipe's drawing utilities import matplotlib.pyplot when the
# package loads; the device has no matplotlib and the 64 MiB carry leaves no room for it, and
# the SDK never draws with it, so an empty stand-in module goes into the scratch site folder
# when matplotlib is missing.
set -uo pipefail
OUT=${OUT:-gpu-out}
SUBSET=${SUBSET:-all}
full() { [ "$SUBSET" = all ]; }
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1
step() { echo; echo "=== $* ($(date +%T))"; }

if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
    if ! python3 -c "import matplotlib.pyplot" 2>/dev/null; then
        mkdir -p /tmp/site/matplotlib
        : > /tmp/site/matplotlib/__init__.py
        : > /tmp/site/matplotlib/pyplot.py
    fi
fi
step machine
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, numpy, cv2; print('torch', torch.__version__, 'numpy', numpy.__version__, 'cv2', cv2.__version__)"

step build
python3 -m pip install -q --no-build-isolation --no-deps \
    -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 . || exit 1
python3 -c "import streamedit_sdk.kernels as k; print('cuda kernels:', k.cuda_available())"

step "CUDA parity and device pipeline tests"
if full; then
    timeout 240 python3 -m pytest -q -p no:cacheprovider -rs tests/test_cuda.py \
        tests/test_device_pipeline.py tests/test_correspondence.py tests/test_low_latency.py \
        2>&1 | grep -v "^[IW]0000"
else
    timeout 240 python3 -m pytest -q -p no:cacheprovider -rs tests/test_low_latency.py \
        tests/test_cuda.py -k "low_latency or swap or lagged or device_pipeline" 2>&1 \
        | grep -v "^[IW]0000"
fi

step "bench torch-cuda"
timeout 200 python3 -m streamedit_sdk.cli bench --backend torch-cuda -q --frames 300 \
    --json "$OUT/bench-torch-cuda.json" 2>&1 | grep -v "^[IW]0000"

full && step "bench torch-cuda, two face-mesh threads" &&
timeout 200 python3 -m streamedit_sdk.cli bench --backend torch-cuda -q --frames 300 \
    --landmark-threads 2 --json "$OUT/bench-torch-cuda-2mesh.json" 2>&1 | grep -v "^[IW]0000"

step "bench torch-cuda --low-latency"
timeout 200 python3 -m streamedit_sdk.cli bench --backend torch-cuda -q --frames 300 \
    --low-latency --json "$OUT/bench-low-latency.json" 2>&1 | grep -v "^[IW]0000"

step "bench torch-cuda --low-latency, two face-mesh threads"
timeout 200 python3 -m streamedit_sdk.cli bench --backend torch-cuda -q --frames 300 \
    --low-latency --landmark-threads 2 --json "$OUT/bench-low-latency-2mesh.json" 2>&1 \
    | grep -v "^[IW]0000"

full && step "bench torch-cuda without CUDA graphs, 720p (the graphs' share)" &&
timeout 100 python3 -m streamedit_sdk.cli bench --backend torch-cuda -q --frames 300 \
    --size 1280x720 --no-cuda-graphs --json "$OUT/bench-torch-cuda-nographs.json" 2>&1 \
    | grep -v "^[IW]0000"

step "bench DINOv2 ViT-S/14 backbone (random weights), torch-cuda, 720p"
env -u PYTHONPATH timeout 120 python3 scripts/random_model.py -o /tmp/dinov2-random 2>&1 | tail -5
full && timeout 120 python3 -m streamedit_sdk.cli bench --backend torch-cuda -q --frames 300 \
    --size 1280x720 --model-dir /tmp/dinov2-random --json "$OUT/bench-dinov2.json" 2>&1 \
    | grep -v "^[IW]0000"
timeout 120 python3 -m streamedit_sdk.cli bench --backend torch-cuda -q --frames 300 \
    --size 1280x720 --model-dir /tmp/dinov2-random --low-latency \
    --json "$OUT/bench-dinov2-low-latency.json" 2>&1 | grep -v "^[IW]0000"

full || { step done; exit 0; }

step "compute-sanitizer memcheck"
timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest -q \
    -p no:cacheprovider tests/test_cuda.py -k "not device_pipeline" > "$OUT/memcheck.txt" 2>&1
echo "memcheck exit $?"; tail -5 "$OUT/memcheck.txt"

step "bench ort-cpu (host pipeline, same machine)"
timeout 150 python3 -m streamedit_sdk.cli bench --backend ort-cpu -q --frames 60 \
    --json "$OUT/bench-ort-cpu.json" 2>&1 | grep -v "^[IW]0000"
step done
