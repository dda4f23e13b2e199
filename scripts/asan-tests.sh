#!/usr/bin/env bash
# Build the kernels with AddressSanitizer in a scratch venv and run the kernel tests under it.
# Any out-of-bounds access in the C++ kernels aborts with an ASan report. CPU only.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${ASAN_VENV:-/tmp/streamedit-asan-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q ".[test]" -Ccmake.define.STREAMEDIT_SANITIZE=ON \
    -Ccmake.define.STREAMEDIT_CUDA=OFF -Ccmake.build-type=RelWithDebInfo
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_barycentric_warp.py \
    tests/test_grid_sample.py tests/test_blend_edit.py tests/test_kernel_properties.py \
    tests/test_kernel_arguments.py tests/test_correspondence.py
