"""Reading the user's images."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.io.paths import partial_path


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


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image (format from the extension) as the outputs are written: under
    a hidden temporary name in the same folder, renamed when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    try:
        if not cv2.imwrite(str(partial), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise ValueError(f"cannot write {path}: OpenCV does not know its format "
                             "(use .png or .jpg)")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def check_image(path: Path, what: str) -> None:
    """Raise unless ``path`` is a file that decodes as an image (``what`` names it)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
        raise ValueError(f"{what} {path} is not an image OpenCV can read (PNG, JPEG, ...)")
