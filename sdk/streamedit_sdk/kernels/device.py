"""The compiled extension and what every device entry point needs: CUDA checks, streams."""

from __future__ import annotations

from typing import Any

from streamedit_sdk.kernels.arrays import ArrayInfo


def ext():
    """The compiled extension, imported lazily (a missing build fails where it is used)."""
    from streamedit_sdk import _kernels

    return _kernels


def cuda_available() -> bool:
    """True when the kernels were built with CUDA and a CUDA device is visible."""
    e = ext()
    return bool(e.built_with_cuda) and e.cuda_device_count() > 0


def require_cuda(what: str) -> None:
    """RuntimeError saying why ``what`` (a CUDA array) cannot be used here, if it cannot."""
    e = ext()
    if not e.built_with_cuda:
        raise RuntimeError(
            f"{what} is a CUDA array but streamedit_sdk was built without CUDA: reinstall with "
            "nvcc on PATH (pip install . rebuilds the kernels), or pass numpy arrays")
    if e.cuda_device_count() == 0:
        raise RuntimeError(f"{what} is a CUDA array but no CUDA device is visible")


def stream_handle(stream: Any, infos: list[ArrayInfo]) -> int:
    """CUDA stream handle: explicit, else the first interface-declared stream, else 0."""
    if stream is None:
        declared = [i.stream for i in infos if i.device and i.stream is not None]
        return int(declared[0]) if declared else 0
    for attr in ("cuda_stream", "ptr", "handle"):  # torch, CuPy, pycuda stream objects
        if hasattr(stream, attr):
            return int(getattr(stream, attr))
    return int(stream)
