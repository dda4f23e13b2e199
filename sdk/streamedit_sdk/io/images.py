"""Reading the user's images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_image(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Read an RGB image that must match ``shape`` (H, W, 3)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"edited reference {path} does not exist")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"could not read {path} as an image")
    if bgr.shape[:2] != shape[:2]:
        raise ValueError(
            f"edited reference is {bgr.shape[1]}x{bgr.shape[0]} but frames are "
            f"{shape[1]}x{shape[0]}: resize it or pass --ref-frame for the frame it was made from")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def check_image(path: Path, what: str) -> None:
    """Raise unless ``path`` is a file that decodes as an image (``what`` names it)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
        raise ValueError(f"{what} {path} is not an image OpenCV can read (PNG, JPEG, ...)")
