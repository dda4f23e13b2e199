"""A description of the machine a benchmark ran on, stored with its results."""

from __future__ import annotations

import os
import platform
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


def describe() -> dict:
    """{cpu, cores, gpu, versions}: enough to tell whether two result files are comparable."""
    from .. import __version__
    from ..kernels import _ext, cuda_available

    ext = _ext()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "gpu": None if not cuda_available() else "cuda",
        "kernel_threads": ext.default_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "versions": {
            "streamedit_sdk": __version__,
            "python": platform.python_version(),
            "numpy": _version("numpy"),
            "opencv": _opencv_version(),
            "mediapipe": _version("mediapipe"),
            "onnxruntime": _version("onnxruntime") or _version("onnxruntime-gpu"),
            "built_with_cuda": bool(ext.built_with_cuda),
            "built_with_openmp": bool(ext.built_with_openmp),
        },
    }
