"""A description of the machine a benchmark ran on, stored with its results."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _opencv_version() -> str | None:
    for dist in ("opencv-contrib-python", "opencv-python", "opencv-contrib-python-headless",
                 "opencv-python-headless"):
        version = _version(dist)
        if version is not None:
            return version
    return None


def _gpu_name() -> str:
    """The GPU's name (from torch when it is loaded, else nvidia-smi), or "cuda"."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.get_device_name()
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "cuda"


def describe() -> dict:
    """{cpu, cores, gpu, versions, models}: enough to tell whether two result files are
    comparable (``models``: the sha256 of each MediaPipe model file the SDK loads)."""
    from streamedit_sdk import __version__
    from streamedit_sdk.kernels import build_info, cuda_available
    from streamedit_sdk.perception import mediapipe as _mediapipe

    build = build_info()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "gpu": _gpu_name() if cuda_available() else None,
        "kernel_threads": build["default_num_threads"],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "versions": {
            "streamedit_sdk": __version__,
            "python": platform.python_version(),
            "numpy": _version("numpy"),
            "opencv": _opencv_version(),
            "mediapipe": _version("mediapipe"),
            "onnxruntime": _version("onnxruntime") or _version("onnxruntime-gpu"),
            "torch": _version("torch"),
            "tensorrt": _version("tensorrt"),
            "built_with_cuda": build["built_with_cuda"],
            "built_with_openmp": build["built_with_openmp"],
        },
        "models": _mediapipe.model_hashes(),
    }
