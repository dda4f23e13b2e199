"""Frame conversion at the edge of the SDK: whatever comes in leaves as RGB uint8 HxWx3."""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

FLOAT_MAX = 1.5  # float frames are 0..1; beyond this (0..255 data) they are refused, not clipped


def to_rgb(frame: np.ndarray, color_order: str = "rgb", *, name: str = "frame") -> np.ndarray:
    """Convert a frame to C-contiguous RGB uint8 (H, W, 3).

    Accepts (H, W) or (H, W, 1) grayscale, (H, W, 3) in ``color_order`` ("rgb" or "bgr") and
    (H, W, 4) with alpha (alpha dropped). uint16 is scaled to 8 bits; float arrays are read as
    0..1 intensities (slight overshoot is clipped; values beyond 1.5 or below -0.5, such as
    0..255 data in a float array, raise). Anything else raises a ``ValueError`` that names ``name``.
    """
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"{name} must be an image (H, W), (H, W, 3) or (H, W, 4); got shape "
                         f"{a.shape}")
    if a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(f"{name} is {a.shape[1]}x{a.shape[0]} px: too small to edit")
    a = _to_uint8(a, name)
    if a.ndim == 2:
        return cv2.cvtColor(a, cv2.COLOR_GRAY2RGB)
    if a.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if color_order == "bgr" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(a, code)
    if color_order == "bgr":
        return cv2.cvtColor(a, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(a)


def from_rgb(rgb: np.ndarray, color_order: str) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> the caller's channel order (a view-free copy only for BGR)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if color_order == "bgr" else rgb


def red_blue_matches(frame: np.ndarray, edit: np.ndarray, tolerance: int = 12,
                     step: int = 4) -> tuple[float, float] | None:
    """How ``edit`` matches ``frame`` as it is and with its red and blue swapped.

    Both (H, W, 3) uint8 in one channel order. Only pixels of ``frame`` whose red and blue
    differ by more than 2 ``tolerance`` can tell (on grey pixels a swap changes nothing);
    every ``step``-th row and column is looked at. Returns (share of those pixels that
    ``edit`` reproduces within ``tolerance`` on every channel, the same share with its red and
    blue swapped), or None when fewer than 2 % of the pixels can tell.
    """
    f = frame[::step, ::step].astype(np.int16)
    e = edit[::step, ::step].astype(np.int16)
    telling = np.abs(f[..., 0] - f[..., 2]) > 2 * tolerance
    n = int(telling.sum())
    if n < 0.02 * telling.size:
        return None
    same = (np.abs(e - f).max(axis=2) <= tolerance) & telling
    swapped = (np.abs(e[..., ::-1] - f).max(axis=2) <= tolerance) & telling
    return float(same.sum()) / n, float(swapped.sum()) / n


def looks_red_blue_swapped(frame: np.ndarray, edit: np.ndarray) -> bool:
    """Whether ``edit`` is ``frame`` with red and blue swapped where it is unedited (an RGB
    image saved by OpenCV as BGR, or the reverse): most of its telling pixels match swapped,
    and at least four times as many as match as they are."""
    shares = red_blue_matches(frame, edit)
    return shares is not None and shares[1] >= 0.5 and shares[1] >= 4 * shares[0]


def _to_uint8(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} holds NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if hi > FLOAT_MAX or lo < -(FLOAT_MAX - 1.0):
            raise ValueError(f"{name} is float with values {lo:.3g}..{hi:.3g}: float frames "
                             "must hold 0..1 intensities (divide 0..255 values by 255, or "
                             "pass uint8)")
        return np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    raise ValueError(f"{name} must be uint8 (or uint16, float 0..1); got {a.dtype}")


def resize_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize with area averaging when shrinking and bilinear when growing.

    A shrink by two or more goes through exact halvings first: OpenCV averages 2x2 blocks on a
    fast path, and the last, fractional step then covers only the rest (1080p to 512 px wide:
    3.8 instead of 8 ms here, the same box filter up to rounding).
    """
    h, w = image.shape[:2]
    if w == width and h == height:
        return image
    if not (width < w and height < h):
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    while 2 * width <= w and 2 * height <= h and w % 2 == 0 and h % 2 == 0:
        h, w = h // 2, w // 2
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    if (w, h) == (width, height):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def work_size(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) with the longest side at most ``side`` px, aspect kept, never enlarged."""
    scale = min(1.0, side / max(height, width))
    return max(2, round(width * scale)), max(2, round(height * scale))


def to_work(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` reduced to :func:`work_size` (the frame itself when already small enough)."""
    return resize_to(rgb, *work_size(rgb.shape[1], rgb.shape[0], side))


def paste(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``dst[mask] = src[mask]`` in place; returns ``dst``.

    dst, src: (H, W[, C]) arrays of one dtype; mask: (H, W) bool. Through ``cv2.copyTo`` where
    OpenCV takes the dtype and channel count (a bool-mask assignment in numpy costs up to 250x
    more: 18 ms for a 512x512 colour frame).
    """
    if dst.shape != src.shape or mask.shape != dst.shape[:2]:
        raise ValueError(f"paste: dst {dst.shape}, src {src.shape} and mask {mask.shape} differ")
    channels = 1 if dst.ndim == 2 else dst.shape[2]
    if dst.dtype in (np.uint8, np.float32) and channels <= 4 and dst.flags.c_contiguous:
        cv2.copyTo(np.ascontiguousarray(src), np.ascontiguousarray(mask).view(np.uint8), dst)
    else:
        dst[mask] = src[mask]
    return dst
