"""Shared maps and masks on the host: the identity map, resizing a map, the uncertain share.

Maps are (H, W, 2) float32 absolute px (x, y); masks are (H, W) bool.
"""

from __future__ import annotations

import cv2
import numpy as np


def identity_map(height: int, width: int) -> np.ndarray:
    """(h, w, 2) float32 map of every pixel to itself."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.stack([xs, ys], axis=-1)


def resize_map(small: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a map of px at one size to (height, width, 2) float32 px at another.

    Pixel centres are aligned (x_full = (x_work + 0.5) * sx - 0.5), as in ``cv2.resize``.
    """
    h, w = small.shape[:2]
    if (h, w) == (height, width):
        return small
    sx, sy = width / w, height / h
    # bilinear weights sum to one, so scaling the values first gives the same map, on 1/s^2
    # as many pixels (cv2.transform: numpy broadcasting over a last axis of 2 is 20x slower)
    affine = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]], np.float32)
    return cv2.resize(cv2.transform(small, affine), (width, height),
                      interpolation=cv2.INTER_LINEAR)


def uncertain_fraction(sigma: np.ndarray, region: np.ndarray | None, pixel_sigma: float) -> float:
    """Fraction of ``region`` (bool, like sigma; None: all) where sigma > ``pixel_sigma``
    (the ARR score of paper §3.2)."""
    bad = sigma > pixel_sigma
    n = np.count_nonzero(region) if region is not None else 0
    if not n:
        return np.count_nonzero(bad) / bad.size
    return np.count_nonzero(bad & region) / n


# A map value that sends a pixel to no reference pixel on purpose (an opening of the face the
# reference did not see, streamedit_sdk.correspondence.face_lead): far outside any image, so
# every sampler leaves the source there.
OFF_REFERENCE = -1.0e4


def off_reference(corr_map):
    """(h, w) bool: pixels of a map (numpy or torch, (h, w, 2)) set to :data:`OFF_REFERENCE`."""
    return corr_map[..., 0] < OFF_REFERENCE / 10


def outside_source(corr_map: np.ndarray, width: int, height: int,
                   beyond: float = 0.5) -> np.ndarray:
    """(h, w) bool: pixels of a host map (h, w, 2) that point more than ``beyond`` px past
    the edge of a ``width`` x ``height`` source, are not finite, or are
    :data:`OFF_REFERENCE`; with 0.5, those no source pixel supplies (where the samplers fall
    back to the live frame)."""
    x, y = corr_map[..., 0], corr_map[..., 1]
    with np.errstate(invalid="ignore"):
        inside = ((x >= -beyond) & (y >= -beyond) & (x <= width - 1 + beyond)
                  & (y <= height - 1 + beyond))
    return ~inside
