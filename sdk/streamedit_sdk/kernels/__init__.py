"""Landmark warp, grid-sample, Lucas-Kanade and blend-edit kernels: checked entry points over
C++, CUDA (landmark warp, grid-sample, Lucas-Kanade) and numpy.

Conventions
-----------
* Coordinates are pixels, x = column, y = row, pixel centres on integers (as ``cv2.remap``).
* ``barycentric_warp``: a pixel of the current frame inside a triangle of ``lm_cur`` maps to the
  point with the same barycentric coordinates in the matching triangle of ``lm_ref``.
  - inside: all three barycentric coordinates >= -1e-5 (pixels on shared edges are kept);
  - degenerate triangles (twice the area < 1e-6 px^2), triangles with a non-finite vertex or a
    vertex beyond 2^20 px, and (on the device path) out-of-range indices cover no pixel;
  - landmarks outside the frame are fine: triangles are clipped to the frame;
  - overlapping triangles: the lowest triangle index wins (deterministic on every backend);
  - pixels covered by no triangle: ``map`` is NaN and ``mask`` is 0.
* ``grid_sample``: bilinear sampling of ``src`` at ``map``:
  1. non-finite map or ``valid == 0``: ``fallback``, or 0 without one;
  2. map outside the source footprint [-0.5, Ws-0.5] x [-0.5, Hs-0.5]: ``fallback``; without one
     the border rule below still samples;
  3. otherwise bilinear; neighbours outside the image are the nearest edge pixel
     (``border="replicate"``) or 0 (``border="zero"``).
  uint8 results are rounded half up (``floor(v + 0.5)``); float32 results are not rounded.

Dispatch
--------
``impl="auto"`` runs the CUDA kernels when the arrays are CUDA arrays (any object exposing
``__cuda_array_interface__``: torch, CuPy, pycuda, Numba), else the multi-threaded C++ kernels.
``impl="numpy"`` runs the reference implementation (:mod:`.reference`), for tests.
Results come back in the caller's library: torch in, torch out; CuPy in, CuPy out.
Device calls are asynchronous on ``stream`` (default: the stream the input array declares in its
interface, else the legacy default stream).
"""

from __future__ import annotations

import logging
import operator
import os
from typing import Any, Literal, NamedTuple

import numpy as np

from streamedit_sdk.kernels import reference
from streamedit_sdk.kernels.arrays import (ArrayInfo, allocate_device, inspect, is_device_array,
                                           require, require_same_size)
from streamedit_sdk.kernels.device import cuda_available
from streamedit_sdk.kernels.device import ext as _ext
from streamedit_sdk.kernels.device import require_cuda as _require_cuda
from streamedit_sdk.kernels.device import stream_handle as _stream_handle
from streamedit_sdk.kernels.blend import blend_edit, edit_weight
from streamedit_sdk.kernels.refine import lk_refine

__all__ = ["LandmarkWarp", "barycentric_warp", "blend_edit", "edit_weight", "grid_sample",
           "lk_refine", "cuda_available", "build_info", "reference"]

log = logging.getLogger(__name__)

Impl = Literal["auto", "cpp", "cuda", "numpy"]
# OpenMP threads that spin after a kernel take the cores from OpenCV's and MediaPipe's threads,
# which run next (DIS flow was 30 % slower here); sleep instead. libgomp reads this when it
# loads, with the extension (imported lazily below); a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

MAX_SIDE = 1 << 15  # largest frame side the kernels accept, px
_BORDERS = {"replicate": 0, "zero": 1}
_IMPLS = ("auto", "cpp", "cuda", "numpy")


def build_info() -> dict:
    """How the compiled kernels were built: {built_with_cuda, built_with_openmp,
    default_num_threads} (the threads a call with ``num_threads=0`` uses)."""
    e = _ext()
    return {"built_with_cuda": bool(e.built_with_cuda),
            "built_with_openmp": bool(e.built_with_openmp),
            "default_num_threads": int(e.default_num_threads())}


class LandmarkWarp(NamedTuple):
    """Result of :func:`barycentric_warp`."""

    map: Any  # (H, W, 2) float32, absolute reference px; NaN where mask == 0
    mask: Any  # (H, W) uint8, 1 where a triangle covers the pixel


def _check_impl(impl: str) -> None:
    if impl not in _IMPLS:
        raise ValueError(f"impl must be one of {', '.join(map(repr, _IMPLS))}, got {impl!r}")


def _side(value: Any, name: str) -> int:
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}") from None
    if not 0 <= v <= MAX_SIDE:
        raise ValueError(f"{name} must be in 0..{MAX_SIDE}, got {v}")
    return v


def _small_host_array(obj: Any, name: str, kinds: str, holds: str, columns: int,
                      shape: str) -> np.ndarray:
    """Check a small (K, columns) host array (landmarks, triangles); returned unconverted."""
    arr = np.asarray(obj)
    if arr.dtype.kind not in kinds:
        raise ValueError(f"{name} must {holds}, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != columns:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def _host_landmarks(obj: Any, name: str) -> np.ndarray:
    arr = _small_host_array(obj, name, "fiu", "hold real numbers", 2, "(N, 2) (x, y in px)")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _host_triangles(obj: Any, n_landmarks: int) -> np.ndarray:
    arr = _small_host_array(obj, "triangles", "iu", "be integer landmark indices", 3, "(T, 3)")
    # Range check before the int32 conversion, which could wrap a large index into range.
    if arr.size and (arr.min() < 0 or arr.max() >= n_landmarks):
        bad = int(np.flatnonzero(((arr < 0) | (arr >= n_landmarks)).any(axis=1))[0])
        raise ValueError(
            f"triangles[{bad}] = {arr[bad].tolist()} indexes outside the {n_landmarks} landmarks")
    return np.ascontiguousarray(arr, dtype=np.int32)


def barycentric_warp(lm_cur: Any, lm_ref: Any, triangles: Any, height: int, width: int, *,
                     impl: Impl = "auto", num_threads: int = 0,
                     stream: Any = None) -> LandmarkWarp:
    """Dense current -> reference map from matching landmark triangles (see module docstring).

    Args:
        lm_cur: (N, 2) landmarks of the current frame, px (any real dtype on the host;
            float32 as a CUDA array).
        lm_ref: (N, 2) the same landmarks in the reference frame, px.
        triangles: (T, 3) landmark indices (any integer dtype on the host; int32 on the device).
        height, width: size of the current frame, px.
        impl: "auto", "cpp", "cuda" or "numpy" (reference).
        num_threads: C++ threads, <= 0 for the default (OMP_NUM_THREADS or all cores).
        stream: CUDA stream (handle, torch/CuPy/pycuda stream) for the device path.

    Returns:
        ``LandmarkWarp(map, mask)``: map (H, W, 2) float32 absolute reference px (NaN outside
        every triangle), mask (H, W) uint8.
    """
    _check_impl(impl)
    height, width = _side(height, "height"), _side(width, "width")
    args = {"lm_cur": lm_cur, "lm_ref": lm_ref, "triangles": triangles}
    on_device = [name for name, a in args.items() if is_device_array(a)]
    if impl == "cuda" or (impl == "auto" and on_device):
        return _barycentric_warp_cuda(args, height, width, stream)
    if on_device:
        raise ValueError(f"{on_device[0]} is a CUDA array but impl={impl!r} runs on the host")
    cur, ref = _host_landmarks(lm_cur, "lm_cur"), _host_landmarks(lm_ref, "lm_ref")
    if cur.shape != ref.shape:
        raise ValueError(
            f"lm_cur and lm_ref must hold the same landmarks: {cur.shape} vs {ref.shape}")
    tris = _host_triangles(triangles, cur.shape[0])
    if impl == "numpy":
        return LandmarkWarp(*reference.barycentric_warp(cur, ref, tris, height, width))
    return LandmarkWarp(*_ext().barycentric_warp(cur, ref, tris, height, width, num_threads))


def _barycentric_warp_cuda(args: dict[str, Any], height: int, width: int,
                           stream: Any) -> LandmarkWarp:
    device_names = [name for name, a in args.items() if is_device_array(a)]
    _require_cuda(device_names[0] if device_names else "impl='cuda'")
    ext = _ext()
    infos = {name: inspect(args[name], name) for name in device_names}
    cur_host = None if "lm_cur" in infos else _host_landmarks(args["lm_cur"], "lm_cur")
    n = infos["lm_cur"].shape[0] if cur_host is None else cur_host.shape[0]
    for name in args:  # small host arrays (landmarks, triangles) are uploaded
        if name in infos:
            continue
        host = (_host_triangles(args[name], n) if name == "triangles"
                else cur_host if name == "lm_cur" else _host_landmarks(args[name], name))
        buf = ext.DeviceBuffer(list(host.shape), host.dtype.str)
        buf.copy_from_host(host)  # synchronous; freed (cudaFree syncs) after the launch
        infos[name] = inspect(buf, name)
    cur, ref, tri = infos["lm_cur"], infos["lm_ref"], infos["triangles"]
    require(cur, ("N", 2), ("float32",))
    require(ref, (cur.shape[0], 2), ("float32",))
    require(tri, ("T", 3), ("int32",))
    like = infos[device_names[0]] if device_names else cur
    map_out = allocate_device(like, (height, width, 2), "float32")
    mask_out = allocate_device(like, (height, width), "uint8")
    handle = _stream_handle(stream, [infos[name] for name in device_names])
    ext.barycentric_warp_cuda(cur.ptr, ref.ptr, cur.shape[0], tri.ptr, tri.shape[0],
                              inspect(map_out, "map").ptr, inspect(mask_out, "mask").ptr,
                              height, width, handle)
    return LandmarkWarp(map_out, mask_out)


def grid_sample(src: Any, map: Any, fallback: Any = None, valid: Any = None,
                border: str = "replicate", *, out: Any = None, impl: Impl = "auto",
                num_threads: int = 0, stream: Any = None) -> Any:
    """Bilinear sampling of ``src`` at ``map`` with a fallback (see module docstring).

    Args:
        src: (Hs, Ws, C) or (Hs, Ws) image, uint8 or float32, C in 1..4, C-contiguous.
        map: (H, W, 2) float32 sample points, absolute source px (x, y).
        fallback: optional (H, W[, C]) image like the output, taken where the map is invalid.
        valid: optional (H, W) uint8 or bool; 0 marks map points not to use.
        border: "replicate" or "zero": value of neighbours outside the image.
        out: optional preallocated output (H, W[, C]) like src; returned.
        impl, num_threads, stream: as in :func:`barycentric_warp`.

    Returns:
        (H, W, C) or (H, W) image of src's dtype, in the caller's array library.
    """
    _check_impl(impl)
    if border not in _BORDERS:
        raise ValueError(f"border must be one of {sorted(_BORDERS)}, got {border!r}")
    given = {"src": src, "map": map, "fallback": fallback, "valid": valid, "out": out}
    given = {k: v for k, v in given.items() if v is not None}
    on_device = [k for k, v in given.items() if is_device_array(v)]
    if on_device and len(on_device) != len(given):
        host = next(k for k in given if k not in on_device)
        raise ValueError(
            f"{on_device[0]} is a CUDA array but {host} is a host array: pass all arrays on the "
            "same side")
    if impl == "cuda" and not on_device:
        raise ValueError("impl='cuda' needs CUDA arrays (torch, CuPy, ...): src is a host array; "
                         "upload the images or use impl='auto'")
    device = impl == "cuda" or (impl == "auto" and bool(on_device))
    if device:
        _require_cuda(on_device[0])
    elif on_device:
        raise ValueError(f"{on_device[0]} is a CUDA array but impl={impl!r} runs on the host")
    infos = {k: inspect(v, k) for k, v in given.items()}

    s = infos["src"]
    if len(s.shape) not in (2, 3):
        raise ValueError(f"src must have shape (Hs, Ws, C) or (Hs, Ws), got {s.shape}")
    channels = s.shape[2] if len(s.shape) == 3 else 1
    if not 1 <= channels <= 4:
        raise ValueError(f"src must have 1 to 4 channels, got {channels}")
    require(s, s.shape, ("uint8", "float32"))
    m = infos["map"]
    require(m, ("H", "W", 2), ("float32",))
    h, w = m.shape[:2]
    out_shape = (h, w) + s.shape[2:]
    for name in ("fallback", "out"):
        if name in infos:
            i = infos[name]
            require_same_size(i, h, w, "the map")
            require(i, out_shape, (s.dtype.name,))
    if "valid" in infos:
        v = infos["valid"]
        require_same_size(v, h, w, "the map")
        require(v, (h, w), ("uint8", "bool"))
    if device:
        return _grid_sample_cuda(infos, out_shape, channels, border, stream)
    return _grid_sample_host(given, out_shape, channels, border, impl, num_threads)


def _grid_sample_host(arrays: dict[str, np.ndarray], out_shape: tuple, channels: int,
                      border: str, impl: Impl, num_threads: int) -> np.ndarray:
    h, w = out_shape[:2]
    as3 = {k: (v.reshape(v.shape[0], v.shape[1], channels) if k in ("src", "fallback", "out")
               else v) for k, v in arrays.items()}
    if "valid" in as3 and as3["valid"].dtype == np.bool_:
        as3["valid"] = as3["valid"].view(np.uint8)
    out = arrays.get("out")
    if out is not None:
        if not out.flags.writeable:
            raise ValueError("out must be writeable")
        for k in ("src", "map", "fallback", "valid"):
            if k in arrays and np.may_share_memory(out, arrays[k]):
                raise ValueError(f"out must not share memory with {k}: pass a separate array")
    if impl == "numpy":
        res = reference.grid_sample(as3["src"], as3["map"], as3.get("fallback"),
                                    as3.get("valid"), border)
        if out is None:
            return res.reshape(out_shape)
        as3["out"][...] = res
        return out
    if out is None:
        out = np.empty(out_shape, arrays["src"].dtype)
    _ext().grid_sample(as3["src"], as3["map"], as3.get("fallback"), as3.get("valid"),
                       out.reshape(h, w, channels), _BORDERS[border], num_threads)
    return out


def _grid_sample_cuda(infos: dict[str, ArrayInfo], out_shape: tuple, channels: int,
                      border: str, stream: Any) -> Any:
    s = infos["src"]
    out = infos["out"].obj if "out" in infos else allocate_device(s, out_shape, s.dtype.name)
    # A bool `valid` is passed as is: bool and uint8 share their layout (one byte, 0 or 1).
    _ext().grid_sample_cuda(
        s.dtype.name, s.ptr, s.shape[0], s.shape[1], channels, infos["map"].ptr,
        infos["fallback"].ptr if "fallback" in infos else 0,
        infos["valid"].ptr if "valid" in infos else 0,
        inspect(out, "out").ptr, out_shape[0], out_shape[1], _BORDERS[border],
        _stream_handle(stream, list(infos.values())))
    return out
