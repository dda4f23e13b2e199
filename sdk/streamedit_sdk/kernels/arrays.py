"""Argument checking shared by the host (numpy) and device (``__cuda_array_interface__``) paths.

Every check raises ``ValueError`` with a message that names the argument, what was expected
and what was given, so a caller can fix the call without reading this code.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ArrayInfo:
    """What the checks need to know about one array argument, host or device."""

    name: str  # argument name, used in error messages
    shape: tuple[int, ...]
    dtype: np.dtype
    contiguous: bool  # C-contiguous
    device: bool  # True for objects exposing __cuda_array_interface__
    ptr: int  # device pointer (0 for host arrays)
    stream: int | None  # producer stream from the interface (v3), None if not given
    obj: Any  # the caller's object


def is_device_array(obj: Any) -> bool:
    """True for CUDA arrays (torch, CuPy, pycuda, Numba ...): they expose the interface."""
    return hasattr(obj, "__cuda_array_interface__")


def inspect(obj: Any, name: str) -> ArrayInfo:
    """Describe ``obj`` (a numpy array or a CUDA array); anything else is a ``ValueError``."""
    if is_device_array(obj):
        cai = obj.__cuda_array_interface__
        shape = tuple(int(s) for s in cai["shape"])
        dtype = np.dtype(cai["typestr"])
        strides = cai.get("strides")
        contiguous = strides is None or tuple(strides) == _c_strides(shape, dtype.itemsize)
        return ArrayInfo(name, shape, dtype, contiguous, True, int(cai["data"][0]),
                         cai.get("stream"), obj)
    if isinstance(obj, np.ndarray):
        return ArrayInfo(name, obj.shape, obj.dtype, bool(obj.flags.c_contiguous), False, 0,
                         None, obj)
    raise ValueError(
        f"{name} must be a numpy array or a CUDA array (__cuda_array_interface__), "
        f"got {type(obj).__name__}")


def _c_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for s in reversed(shape):
        strides.append(step)
        step *= max(s, 1)
    return tuple(reversed(strides))


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def require(info: ArrayInfo, expected: tuple, dtypes: tuple[str, ...],
            contiguous: bool = True) -> None:
    """Check ndim, shape (None entries match anything), dtype and contiguity of ``info``.

    ``expected`` holds ints, None or names (str) for a readable message, e.g. ``("H", "W", 2)``;
    names are not checked here, only printed.
    """
    want = _fmt(tuple(e if e is not None else "?" for e in expected))
    if len(info.shape) != len(expected) or any(
            isinstance(e, int) and e != s for e, s in zip(expected, info.shape)):
        raise ValueError(f"{info.name} must have shape {want}, got {_fmt(info.shape)}")
    if info.dtype.name not in dtypes:
        raise ValueError(
            f"{info.name} must be {' or '.join(dtypes)}, got {info.dtype.name}"
            + (" (convert with .astype)" if not info.device else ""))
    if contiguous and not info.contiguous:
        fix = "np.ascontiguousarray(...)" if not info.device else ".contiguous() / .copy()"
        raise ValueError(f"{info.name} must be C-contiguous: pass {fix}")


def require_same_size(info: ArrayInfo, height: int, width: int, what: str) -> None:
    if info.shape[:2] != (height, width):
        raise ValueError(
            f"{info.name} is {info.shape[1]}x{info.shape[0]} (WxH) but {what} is "
            f"{width}x{height}: resize it to match")


def allocate_device(like: ArrayInfo, shape: tuple[int, ...], dtype: str) -> Any:
    """A new device array of ``shape``/``dtype`` from the same library as ``like``.

    torch tensors and CuPy arrays get their own library's (cached) allocation; other objects
    get a ``DeviceBuffer`` owned by the extension. No library is imported here: torch or CuPy
    are only used when the caller's array already comes from them.
    """
    root = type(like.obj).__module__.split(".")[0]
    if root == "torch":
        torch = sys.modules["torch"]
        return torch.empty(shape, dtype=getattr(torch, dtype), device=like.obj.device)
    if root == "cupy":
        cupy = sys.modules["cupy"]
        with like.obj.device:
            return cupy.empty(shape, dtype=dtype)
    from streamedit_sdk import _kernels

    return _kernels.DeviceBuffer(list(shape), np.dtype(dtype).str)
