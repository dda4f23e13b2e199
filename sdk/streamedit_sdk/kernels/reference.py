"""Straightforward numpy implementations of the kernels: the executable specification.

They follow the rules of ``kernels/common/*.h`` with the same float32 operations in the same
order, so the C++ and CUDA kernels are tested against them. They are slow (a Python loop over
triangles); use them for tests and as a baseline, not per frame.

Arguments are assumed checked (``streamedit_sdk.kernels`` checks them before dispatching here).
"""

from __future__ import annotations

import numpy as np

INSIDE_EPS = np.float32(1e-5)  # barycentric tolerance: pixels on shared edges are kept
MIN_DOUBLE_AREA = np.float32(1e-6)  # px^2; smaller triangles are degenerate and skipped
MAX_COORD = np.float32(2.0**20)  # px; farther vertices make their triangle invalid

_F1 = np.float32(1.0)
_HALF = np.float32(0.5)


def _triangle_setup(cur: np.ndarray, ref: np.ndarray, tri: np.ndarray) -> dict | None:
    """Affine map of one triangle pair, or None when the triangle covers no pixel."""
    n = cur.shape[0]
    if tri.min() < 0 or tri.max() >= n:
        return None
    c, r = cur[tri], ref[tri]
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(r))):
        return None
    if np.any(np.abs(c) > MAX_COORD) or np.any(np.abs(r) > MAX_COORD):
        return None
    (x0, y0), (x1, y1), (x2, y2) = c
    ux, uy, vx, vy = x1 - x0, y1 - y0, x2 - x0, y2 - y0
    det = ux * vy - vx * uy
    if not (det > MIN_DOUBLE_AREA or det < -MIN_DOUBLE_AREA):
        return None
    inv = _F1 / det
    return {
        "cx": x0, "cy": y0,
        "i00": vy * inv, "i01": -vx * inv, "i10": -uy * inv, "i11": ux * inv,
        "rx": r[0, 0], "ry": r[0, 1],
        "e1x": r[1, 0] - r[0, 0], "e1y": r[1, 1] - r[0, 1],
        "e2x": r[2, 0] - r[0, 0], "e2y": r[2, 1] - r[0, 1],
        "xmin": c[:, 0].min(), "xmax": c[:, 0].max(),
        "ymin": c[:, 1].min(), "ymax": c[:, 1].max(),
    }


def barycentric_warp(lm_cur: np.ndarray, lm_ref: np.ndarray, triangles: np.ndarray,
                     height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference landmark warp. lm_*: (N, 2) float32 px; triangles: (T, 3) int32.

    Returns map (H, W, 2) float32 (absolute reference px, NaN outside every triangle) and
    mask (H, W) uint8. Overlaps: the lowest triangle index wins.
    """
    cur = np.asarray(lm_cur, np.float32)
    ref = np.asarray(lm_ref, np.float32)
    out = np.full((height, width, 2), np.nan, np.float32)
    mask = np.zeros((height, width), np.uint8)
    for tri in np.asarray(triangles, np.int64).reshape(-1, 3):
        t = _triangle_setup(cur, ref, tri)
        if t is None:
            continue
        y0 = int(max(0.0, np.floor(t["ymin"])))
        y1 = int(min(height - 1.0, np.ceil(t["ymax"])))
        x0 = int(max(0.0, np.floor(t["xmin"])))
        x1 = int(min(width - 1.0, np.ceil(t["xmax"])))
        if y0 > y1 or x0 > x1:
            continue
        ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1].astype(np.float32)
        dx, dy = xs - t["cx"], ys - t["cy"]
        a = t["i00"] * dx + t["i01"] * dy
        b = t["i10"] * dx + t["i11"] * dy
        inside = (a >= -INSIDE_EPS) & (b >= -INSIDE_EPS) & ((_F1 - a - b) >= -INSIDE_EPS)
        inside &= mask[y0:y1 + 1, x0:x1 + 1] == 0
        block = out[y0:y1 + 1, x0:x1 + 1]
        block[..., 0] = np.where(inside, t["rx"] + a * t["e1x"] + b * t["e2x"], block[..., 0])
        block[..., 1] = np.where(inside, t["ry"] + a * t["e1y"] + b * t["e2y"], block[..., 1])
        mask[y0:y1 + 1, x0:x1 + 1][inside] = 1
    return out, mask


def sample_float(src: np.ndarray, map: np.ndarray, fallback: np.ndarray | None = None,
                 valid: np.ndarray | None = None, border: str = "replicate"
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The grid-sample rule's value before rounding: ((H, W, C) float32, (H, W) bool where it
    came from the fallback, or 0 without one). Arguments as :func:`grid_sample`."""
    hs, ws, ch = src.shape
    h, w = map.shape[:2]
    mx, my = map[..., 0], map[..., 1]
    usable = np.isfinite(mx) & np.isfinite(my)
    if valid is not None:
        usable &= valid != 0
    empty = hs == 0 or ws == 0
    with np.errstate(invalid="ignore"):
        inside = usable & (mx >= -_HALF) & (my >= -_HALF)
        inside &= (mx <= np.float32(ws) - _HALF) & (my <= np.float32(hs) - _HALF)
    inside &= not empty
    # Fallback (or 0) where the point is unusable, or outside when a fallback is given.
    take_fallback = ~inside & (~usable | (fallback is not None) | empty)

    x = np.clip(np.nan_to_num(mx), np.float32(-2.0), np.float32(ws + 1.0)).astype(np.float32)
    y = np.clip(np.nan_to_num(my), np.float32(-2.0), np.float32(hs + 1.0)).astype(np.float32)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0.astype(np.float32), y - y0.astype(np.float32)
    weights = ((_F1 - fx) * (_F1 - fy), fx * (_F1 - fy), (_F1 - fx) * fy, fx * fy)
    acc = np.zeros((h, w, ch), np.float32)
    for k, (ox, oy) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
        xx, yy = x0 + ox, y0 + oy
        outside = (xx < 0) | (yy < 0) | (xx >= ws) | (yy >= hs)
        if empty:
            continue
        vals = src[np.clip(yy, 0, hs - 1), np.clip(xx, 0, ws - 1)].astype(np.float32)
        if border == "zero":
            vals[outside] = 0.0
        acc += weights[k][..., None] * vals
    fill = (fallback.astype(np.float32) if fallback is not None
            else np.zeros((h, w, ch), np.float32))
    acc[take_fallback] = fill[take_fallback]
    return acc, take_fallback


def _rounded_u8(v: np.ndarray) -> np.ndarray:
    """uint8 rounded half up: floor(clamp(v + 0.5, 0, 255))."""
    return np.floor(np.clip(v + _HALF, np.float32(0.0), np.float32(255.0))).astype(np.uint8)


def grid_sample(src: np.ndarray, map: np.ndarray, fallback: np.ndarray | None = None,
                valid: np.ndarray | None = None, border: str = "replicate") -> np.ndarray:
    """Reference grid-sample. src (Hs, Ws, C) uint8/float32; map (H, W, 2) float32 px.

    Rules (same as kernels/common/bilinear.h): non-finite map or valid == 0 -> fallback (or 0);
    outside [-0.5, Ws-0.5] x [-0.5, Hs-0.5] -> fallback, or the border rule without one;
    otherwise bilinear, out-of-image neighbours replicated or zero; uint8 rounds half up.
    """
    acc, _ = sample_float(src, map, fallback, valid, border)  # the fallback's pixels are
    # exact in float32 and come back unchanged through the rounding
    return _rounded_u8(acc) if src.dtype == np.uint8 else acc.astype(src.dtype)


def blend_edit(frame: np.ndarray, delta: np.ndarray, src: np.ndarray | None = None,
               map: np.ndarray | None = None, edit_map: np.ndarray | None = None,
               valid: np.ndarray | None = None, full: float = 16.0) -> np.ndarray:
    """Reference blend-edit (rules in kernels/common/blend.h): frame (H, W, C) uint8, delta
    (H, W, C) float32, src (Hs, Ws, C) uint8 sampled at map / edit_map (H, W, 2) float32 with
    the frame as fallback and ``valid`` (H, W); returns (H, W, C) uint8."""
    if src is None:
        return _rounded_u8(frame.astype(np.float32) + delta)
    base, _ = sample_float(src, map, frame, valid)
    if edit_map is None:
        return _rounded_u8(base + delta)
    led, _ = sample_float(src, edit_map, frame, valid)
    w = edit_weight(delta, full)[..., None]
    return _rounded_u8(base + w * (led - base) + delta)


def edit_weight(delta: np.ndarray, full: float) -> np.ndarray:
    """Reference edit weight (kernels/common/blend.h): delta (H, W, C) float32 -> (H, W)
    float32 ``min(max_c |delta| * (1 / full), 1)``."""
    return np.minimum(np.abs(delta).max(axis=2) * (_F1 / np.float32(full)), _F1)


def lk_refine(cur: np.ndarray, ref: np.ndarray, map: np.ndarray, iterations: int, window: int,
              damping: float, max_step: float) -> np.ndarray:
    """Reference Lucas-Kanade refinement (rules in kernels/cpu/lk_refine.cpp). cur, ref (H, W)
    float32; map (H, W, 2) float32. Returns the refined map (a new array)."""
    m = map.astype(np.float32, copy=True)
    h, w = cur.shape
    r = window // 2
    norm = np.float32(1.0 / (window * window))
    damp, step_max, eighth, two = (np.float32(damping), np.float32(max_step), np.float32(0.125),
                                   np.float32(2.0))

    def box(x: np.ndarray) -> np.ndarray:
        p = np.pad(x, ((0, 0), (r, r)), mode="edge")
        rows = np.zeros_like(x)
        for j in range(window):
            rows = rows + p[:, j:j + w]
        p = np.pad(rows, ((r, r), (0, 0)), mode="edge")
        out = np.zeros_like(x)
        for j in range(window):
            out = out + p[j:j + h]
        return out * norm

    for _ in range(iterations):
        wp = np.pad(grid_sample(ref[..., None], m, None, None, "replicate")[..., 0], 1,
                    mode="edge")
        up, mid, dn = wp[:-2], wp[1:-1], wp[2:]
        gx = ((up[:, 2:] - up[:, :-2]) + two * (mid[:, 2:] - mid[:, :-2])
              + (dn[:, 2:] - dn[:, :-2])) * eighth
        gy = ((dn[:, :-2] - up[:, :-2]) + two * (dn[:, 1:-1] - up[:, 1:-1])
              + (dn[:, 2:] - up[:, 2:])) * eighth
        gt = mid[:, 1:-1] - cur
        a, b, c = box(gx * gx) + damp, box(gx * gy), box(gy * gy) + damp
        p, q = box(gx * gt), box(gy * gt)
        det = a * c - b * b
        m[..., 0] += np.clip((b * q - c * p) / det, -step_max, step_max)
        m[..., 1] += np.clip((b * p - a * q) / det, -step_max, step_max)
    return m
