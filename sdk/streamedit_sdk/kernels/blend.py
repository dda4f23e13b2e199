"""The edited frame in one pass: the checked entry point of the blend-edit kernel (C++, numpy).

The rule (``kernels/common/blend.h``): per pixel, ``base`` is the frame's own pixel, or the
reference ``src`` sampled at ``map`` by the grid-sample rule (the frame as fallback, before
rounding); with ``edit_map`` the reference is also sampled there (``led``) and mixed in by
how much the edit changes the pixel, ``w = min(max_c |delta| / full, 1)``; the carried edit
``delta`` is added once: ``out = round(base + w (led - base) + delta)`` (paper §3.3). One
pass instead of five (two samples, the weight, the mix, the sum) and no uint8 rounding between
them. CUDA arrays are not taken: a device side composes its own operations.

:func:`edit_weight` is the rule's ``w`` alone, for the host's other uses of it.
"""

from __future__ import annotations

import numpy as np

from streamedit_sdk.kernels import reference
from streamedit_sdk.kernels.arrays import inspect, is_device_array, require, require_same_size
from streamedit_sdk.kernels.device import ext


def _check_host(kernel: str, impl: str, full: float, given: dict) -> None:
    """The checks the host-only kernels share: ``impl``, no CUDA array among ``given`` (name
    -> array), ``full`` > 0."""
    if impl not in ("auto", "cpp", "numpy"):
        raise ValueError(f"impl must be 'auto', 'cpp' or 'numpy', got {impl!r}")
    device = [k for k, v in given.items() if is_device_array(v)]
    if device:
        raise ValueError(f"{device[0]} is a CUDA array: {kernel} runs on the host; on a device "
                         "compose it from the array library's operations (and grid_sample)")
    if not full > 0:
        raise ValueError(f"full must be > 0, got {full!r}")


def blend_edit(frame: np.ndarray, delta: np.ndarray, src: np.ndarray | None = None,
               map: np.ndarray | None = None, edit_map: np.ndarray | None = None,
               valid: np.ndarray | None = None, *, full: float = 16.0, impl: str = "auto",
               num_threads: int = 0) -> np.ndarray:
    """The edited frame, (H, W, C) uint8.

    Args:
        frame: (H, W, C) uint8, C in 1..4, the live frame (and the samples' fallback).
        delta: (H, W, C) float32, the carried edit, intensity levels.
        src: (Hs, Ws, C) uint8 reference, or None (residual: ``frame + delta``).
        map: (H, W, 2) float32, absolute ``src`` px (x, y): the correspondence; with ``src``.
        edit_map: (H, W, 2) float32, the edit's map, or None (``map`` alone).
        valid: (H, W) uint8 or bool, 0 where neither map may be used (the frame shows), or None.
        full: intensity levels (> 0) from which a pixel counts as wholly edited.
        impl: "auto" or "cpp" (the C++ kernel), "numpy" (the reference, for tests).
        num_threads: C++ threads (<= 0: default).
    """
    given = {"frame": frame, "delta": delta, "src": src, "map": map, "edit_map": edit_map,
             "valid": valid}
    given = {k: v for k, v in given.items() if v is not None}
    _check_host("blend_edit", impl, full, given)
    if (src is None) != (map is None):
        raise ValueError("src and map go together: give both (replace) or neither (residual)")
    if edit_map is not None and src is None:
        raise ValueError("edit_map needs src and map")
    infos = {k: inspect(v, k) for k, v in given.items()}
    require(infos["frame"], ("H", "W", "C"), ("uint8",))
    h, w, c = infos["frame"].shape
    if not 1 <= c <= 4:
        raise ValueError(f"frame must have 1 to 4 channels, got {c}")
    require(infos["delta"], (h, w, c), ("float32",))
    if src is not None:
        require(infos["src"], ("Hs", "Ws", c), ("uint8",))
    for name in ("map", "edit_map"):
        if name in infos:
            require(infos[name], ("H", "W", 2), ("float32",))
            require_same_size(infos[name], h, w, "the frame")
    if valid is not None:
        require(infos["valid"], ("H", "W"), ("uint8", "bool"))
        require_same_size(infos["valid"], h, w, "the frame")
        valid = valid.view(np.uint8) if valid.dtype == np.bool_ else valid
    if impl == "numpy":
        return reference.blend_edit(frame, delta, src, map, edit_map, valid, full)
    out = np.empty((h, w, c), np.uint8)
    ext().blend_edit(frame, delta, src, map, edit_map, valid, out, float(full), num_threads)
    return out


def edit_weight(delta: np.ndarray, full: float = 16.0, *, impl: str = "auto",
                num_threads: int = 0) -> np.ndarray:
    """How much an edit changes each pixel, (H, W) float32 0..1: ``min(max_c |delta| / full,
    1)``, the blend's ``w`` (one pass; numpy's maximum over the channel axis, or OpenCV's
    split, take ten times as long).

    Args:
        delta: (H, W, C) float32, C in 1..4, the edit in intensity levels.
        full: intensity levels (> 0) from which a pixel counts as wholly edited.
        impl: "auto" or "cpp" (the C++ kernel), "numpy" (the reference, for tests).
        num_threads: C++ threads (<= 0: default).
    """
    _check_host("edit_weight", impl, full, {"delta": delta})
    info = inspect(delta, "delta")
    require(info, ("H", "W", "C"), ("float32",))
    h, w, c = info.shape
    if not 1 <= c <= 4:
        raise ValueError(f"delta must have 1 to 4 channels, got {c}")
    if impl == "numpy":
        return reference.edit_weight(delta, full)
    out = np.empty((h, w), np.float32)
    ext().edit_weight(delta, out, float(full), num_threads)
    return out
