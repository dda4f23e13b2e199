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
    x0, y0 = np.floor(pts.min(axis=0)) - 1
    x1, y1 = np.ceil(pts.max(axis=0)) + 2
    subdiv = cv2.Subdiv2D((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    index: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(pts):
        index.setdefault((float(x), float(y)), i)
        subdiv.insert((float(x), float(y)))
    tris = []
    for x_a, y_a, x_b, y_b, x_c, y_c in subdiv.getTriangleList():
        ids = [index.get((float(np.float32(x)), float(np.float32(y))))
               for x, y in ((x_a, y_a), (x_b, y_b), (x_c, y_c))]
        if None not in ids:  # drop triangles on Subdiv2D's virtual outer vertices
            tris.append(ids)
    return np.asarray(tris, np.int32).reshape(-1, 3)


def frame_anchors(width: int, height: int, per_side: int = 3) -> np.ndarray:
    """Points on the frame border ((4 * per_side), 2) px, corners included, clockwise."""
    t = np.linspace(0.0, 1.0, per_side + 1)[:-1]
    w, h = width - 1.0, height - 1.0
    top = np.stack([t * w, np.zeros_like(t)], 1)
    right = np.stack([np.full_like(t, w), t * h], 1)
    bottom = np.stack([w - t * w, np.full_like(t, h)], 1)
    left = np.stack([np.zeros_like(t), h - t * h], 1)
    return np.concatenate([top, right, bottom, left]).astype(np.float32)
