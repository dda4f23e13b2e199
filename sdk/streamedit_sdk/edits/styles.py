"""Built-in styles: functions RGB uint8 (H, W, 3) -> RGB uint8 (H, W, 3), applied to the reference.

Each takes ``side``: the shorter side (px) of the frame its size-dependent parameters (outline
block, blur) are set from; None: the image's own. A crop of a frame styled with the frame's
side matches the styled frame away from the crop's edges (the editor styles only the box of
content no reference saw, :class:`~.fill.StyleFill`).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np


def cartoon(rgb: np.ndarray, side: int | None = None) -> np.ndarray:
    """Flat colour regions (edge-preserving smoothing + quantisation) with dark outlines."""
    h, w = rgb.shape[:2]
    side = side or min(h, w)
    small = cv2.resize(rgb, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    for _ in range(4):
        small = cv2.bilateralFilter(small, 7, 40, 7)
    flat = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    flat = (flat // 32) * 32 + 16
    gray = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 5)
    block = max(3, (side // 60) | 1)
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY,
                                  block, 4)
    edges = cv2.erode(edges, np.ones((2, 2), np.uint8))
    return np.where(edges[..., None] > 0, flat, (flat * 0.25).astype(np.uint8)).astype(np.uint8)


def teal_orange(rgb: np.ndarray, side: int | None = None) -> np.ndarray:
    """Colour grade: shadows towards teal, highlights towards orange, a little more contrast."""
    x = np.arange(256, dtype=np.float32) / 255.0
    contrast = 0.5 + (x - 0.5) * 1.15
    shadow, light = (1.0 - x) ** 2, x ** 2
    luts = [contrast + 0.10 * light - 0.06 * shadow,  # R
            contrast + 0.02 * light + 0.03 * shadow,  # G
            contrast - 0.10 * light + 0.08 * shadow]  # B
    luts = [np.clip(c * 255.0 + 0.5, 0, 255).astype(np.uint8) for c in luts]
    return np.stack([cv2.LUT(rgb[..., c], luts[c]) for c in range(3)], axis=-1)


def mono_ink(rgb: np.ndarray, side: int | None = None) -> np.ndarray:
    """Pencil-sketch look: grey dodge blend of the image with its blurred negative."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    sigma = max(1.0, (side or min(rgb.shape[:2])) / 80)
    blur = cv2.GaussianBlur(255 - gray, (0, 0), sigmaX=sigma)
    sketch = cv2.divide(gray, 255 - blur, scale=256)
    return cv2.cvtColor(sketch, cv2.COLOR_GRAY2RGB)


Style = Callable[..., np.ndarray]  # (rgb, side=None) -> rgb

STYLES: dict[str, Style] = {
    "cartoon": cartoon,
    "teal-orange": teal_orange,
    "sketch": mono_ink,
}


def style(name: str) -> Style:
    """The built-in style ``name``; ``ValueError`` listing the choices for an unknown one."""
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r}: choose one of {', '.join(STYLES)}") from None


def apply_style(name: str, rgb: np.ndarray) -> np.ndarray:
    """Apply the built-in style ``name`` (one of :data:`STYLES`) to an RGB uint8 frame."""
    return style(name)(rgb)
