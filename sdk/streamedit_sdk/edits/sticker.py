"""Stickers pinned to a face region, placed and oriented by the face landmarks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.perception.landmarks import (CHEEK_LEFT, CHEEK_RIGHT, FACE_LEFT, FACE_RIGHT,
                                                 FOREHEAD, face_width)

MIN_ALPHA = 16  # of 255: a sticker whose alpha never reaches this would draw nothing visible
# where -> (landmark index, offset along the face's up direction in face widths)
STICKER_PLACES: dict[str, tuple[int, float]] = {
    "cheek": (CHEEK_LEFT, 0.0),
    "cheek-right": (CHEEK_RIGHT, 0.0),
    "forehead": (FOREHEAD, -0.05),
}


def default_sticker(size: int = 256) -> np.ndarray:
    """A five-pointed star, yellow with a dark outline: (size, size, 4) RGBA uint8."""
    big = size * 4  # drawn at 4x and reduced, for smooth edges
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, 0.46, 0.2) * big
    pts = np.stack([big / 2 + radii * np.cos(angles), big / 2 - radii * np.sin(angles)], 1)
    pts = np.round(pts).astype(np.int32)
    rgba = np.zeros((big, big, 4), np.uint8)
    cv2.fillPoly(rgba, [pts], (40, 20, 60, 255))
    inner = np.round(big / 2 + (pts - big / 2) * 0.82).astype(np.int32)
    cv2.fillPoly(rgba, [inner], (255, 205, 20, 255))
    cv2.circle(rgba, (int(big * 0.45), int(big * 0.45)), big // 14, (255, 250, 210, 255), -1)
    return cv2.resize(rgba, (size, size), interpolation=cv2.INTER_AREA)


def load_sticker(path: str | Path) -> np.ndarray:
    """Read an image file as RGBA uint8 (opaque when it has no alpha channel)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"sticker image {p} does not exist")
    img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"could not read {p} as an image (PNG with alpha works best)")
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGBA)
    if img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGBA)
    if img[..., 3].max() < MIN_ALPHA:
        what = "fully" if not img[..., 3].any() else "nearly"
        raise ValueError(f"sticker {p} is {what} transparent (its alpha is at most "
                         f"{int(img[..., 3].max())} of 255 everywhere), so it would draw "
                         "nothing you could see: export it with the sticker's pixels opaque")
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)


def place_sticker(rgb: np.ndarray, landmarks: np.ndarray, sticker: np.ndarray,
                  where: str = "cheek", scale: float = 0.4) -> np.ndarray:
    """Composite ``sticker`` (RGBA) onto ``rgb`` at a face region, turned with the face's roll.

    landmarks: (478, 2) px of ``rgb``; scale: sticker width as a fraction of the face width.
    Returns a new RGB uint8 image.
    """
    if where not in STICKER_PLACES:
        raise ValueError(f"unknown sticker place {where!r}: choose one of "
                         f"{', '.join(STICKER_PLACES)}")
    index, up_offset = STICKER_PLACES[where]
    across = landmarks[FACE_RIGHT] - landmarks[FACE_LEFT]
    roll = np.degrees(np.arctan2(across[1], across[0]))
    fw = face_width(landmarks)
    up = np.array([across[1], -across[0]]) / max(np.linalg.norm(across), 1e-6)
    centre = landmarks[index] + up * up_offset * fw
    side = max(sticker.shape[:2])
    s = fw * scale / side
    m = cv2.getRotationMatrix2D((sticker.shape[1] / 2 - 0.5, sticker.shape[0] / 2 - 0.5), -roll, s)
    m[:, 2] += centre - np.array([sticker.shape[1] / 2 - 0.5, sticker.shape[0] / 2 - 0.5])
    h, w = rgb.shape[:2]
    warped = cv2.warpAffine(sticker, m, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    alpha = warped[..., 3:4].astype(np.float32) / 255.0
    out = rgb.astype(np.float32) * (1.0 - alpha) + warped[..., :3].astype(np.float32) * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
