"""Triangulation helpers for the landmark warp (no torch, numpy + OpenCV only)."""

from __future__ import annotations

import cv2
import numpy as np


def delaunay(points: np.ndarray) -> np.ndarray:
    """Delaunay triangulation of ``points`` (N, 2) px -> (T, 3) int32 indices into ``points``.

    Duplicate points keep their first index. Triangles are listed in OpenCV's order, which is
    deterministic for the same input.
    """
    pts = np.asarray(points, np.float32)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise ValueError(f"points must have shape (N, 2) with N >= 3, got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("points must be finite")
    pts = pts + np.float32(0.0)  # -0.0 -> 0.0: points are matched by their bits below
    x0, y0 = np.floor(pts.min(axis=0)) - 1
    x1, y1 = np.ceil(pts.max(axis=0)) + 2
    subdiv = cv2.Subdiv2D((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    subdiv.insert(pts)  # in order, as one insert per point would
    corners = np.asarray(subdiv.getTriangleList(), np.float32).reshape(-1, 2)
    # each vertex back to the first point with its coordinates (float32 pairs as one int64);
    # vertices that match none are Subdiv2D's virtual outer ones: their triangles are dropped
    keys, first = np.unique(np.ascontiguousarray(pts).view(np.int64)[:, 0], return_index=True)
    wanted = np.ascontiguousarray(corners).view(np.int64)[:, 0]
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    ids = np.where(keys[at] == wanted, first[at], -1).reshape(-1, 3)
    return ids[(ids >= 0).all(axis=1)].astype(np.int32)


def frame_anchors(width: int, height: int, per_side: int = 3) -> np.ndarray:
    """Points on the frame border ((4 * per_side), 2) px, corners included, clockwise."""
    t = np.linspace(0.0, 1.0, per_side + 1)[:-1]
    w, h = width - 1.0, height - 1.0
    top = np.stack([t * w, np.zeros_like(t)], 1)
    right = np.stack([np.full_like(t, w), t * h], 1)
    bottom = np.stack([w - t * w, np.full_like(t, h)], 1)
    left = np.stack([np.zeros_like(t), h - t * h], 1)
    return np.concatenate([top, right, bottom, left]).astype(np.float32)
