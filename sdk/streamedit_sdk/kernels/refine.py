"""Lucas-Kanade refinement of a dense map: the checked entry point over C++ and numpy.

Forward-additive Gauss-Newton (Lucas & Kanade 1981; Baker & Matthews 2004, eq. 10) at every
pixel over a ``window`` x ``window`` box: the reference is warped by the map, and the damped
2x2 normal equations ``(sum g g^T + damping I) step = -sum g (ref(map) - cur)`` (g: Sobel
gradient of the warped reference) give a step, clipped to ``max_step`` px, added to the map.
Where the image is flat the step is ~0 (damping). The exact rules are in
``kernels/cpu/lk_refine.cpp``; :func:`streamedit_sdk.kernels.reference.lk_refine` follows them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from streamedit_sdk.kernels import reference
from streamedit_sdk.kernels.arrays import allocate_device, inspect, require, require_same_size
from streamedit_sdk.kernels.device import ext, require_cuda, stream_handle


def lk_refine(cur: Any, ref: Any, map: Any, *, iterations: int = 3, window: int = 5,
              damping: float = 1e-3, max_step: float = 2.0, impl: str = "auto",
              num_threads: int = 0, stream: Any = None) -> Any:
    """Refine ``map`` (current -> reference) by Lucas-Kanade steps.

    Args:
        cur, ref: (H, W) float32 grey images (any scale; 0..1 keeps ``damping`` meaningful).
        map: (H, W, 2) float32, absolute reference px (x, y); not modified.
        iterations: steps (>= 0); window: odd box side, px; damping: added to the diagonal of
            the normal equations (units of squared gradient); max_step: px per step.
        impl: "auto" (CUDA for CUDA arrays, else C++), "cpp", "cuda" or "numpy" (the
            reference). The CUDA kernel gives the C++ result bit for bit.
        num_threads: C++ threads (<= 0: default); stream: CUDA stream for CUDA arrays.
    Returns:
        (H, W, 2) float32, a new array (the caller's array library for CUDA arrays).
    """
    if impl not in ("auto", "cpp", "cuda", "numpy"):
        raise ValueError(f"impl must be 'auto', 'cpp', 'cuda' or 'numpy', got {impl!r}")
    infos = {k: inspect(v, k) for k, v in (("cur", cur), ("ref", ref), ("map", map))}
    on_device = [k for k, i in infos.items() if i.device]
    if on_device and len(on_device) != len(infos):
        host = next(k for k in infos if k not in on_device)
        raise ValueError(f"{on_device[0]} is a CUDA array but {host} is a host array: pass all "
                         "arrays on the same side")
    if impl == "cuda" and not on_device:
        raise ValueError("impl='cuda' needs CUDA arrays (torch, CuPy, ...)")
    if on_device and impl in ("cpp", "numpy"):
        raise ValueError(f"cur is a CUDA array but impl={impl!r} runs on the host")
    require(infos["cur"], ("H", "W"), ("float32",))
    h, w = infos["cur"].shape
    require(infos["ref"], ("H", "W"), ("float32",))
    require_same_size(infos["ref"], h, w, "cur")
    require(infos["map"], ("H", "W", 2), ("float32",))
    require_same_size(infos["map"], h, w, "cur")
    if not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be a whole number >= 0, got {iterations!r}")
    if not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd whole number >= 1, got {window!r}")
    for name, value in (("damping", damping), ("max_step", max_step)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if on_device:
        return _lk_refine_cuda(infos, iterations, window, float(damping), float(max_step),
                               stream)
    if impl == "numpy":
        return reference.lk_refine(cur, ref, map, iterations, window, damping, max_step)
    out = np.array(map, dtype=np.float32, copy=True)
    if h and w and iterations:
        ext().lk_refine(cur, ref, out, iterations, window, float(damping), float(max_step),
                        num_threads)
    return out


def _lk_refine_cuda(infos: dict, iterations: int, window: int, damping: float,
                    max_step: float, stream: Any) -> Any:
    require_cuda("cur")
    e = ext()
    m = infos["map"]
    h, w = m.shape[:2]
    out = allocate_device(m, (h, w, 2), "float32")
    # Scratch for the warped reference and the ten product planes; from the caller's library,
    # whose caching allocator makes it cheap per frame.
    scratch = allocate_device(m, (int(e.lk_refine_scratch_floats(h, w)),), "float32")
    e.lk_refine_cuda(infos["cur"].ptr, infos["ref"].ptr, m.ptr, inspect(out, "out").ptr, h, w,
                     iterations, window, damping, max_step, inspect(scratch, "scratch").ptr,
                     stream_handle(stream, list(infos.values())))
    return out
