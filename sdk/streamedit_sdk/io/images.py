"""Reading the user's images."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.io.paths import partial_path


def read_image(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Read an RGB image that must match ``shape`` (H, W, 3); an alpha channel is dropped."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"edited reference {path} does not exist")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"could not read {path} as an image")
    _check_size(bgr, shape)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_edited(path: Path, reference: np.ndarray) -> np.ndarray:
    """The user's edited reference (H, W, 3) uint8 RGB, the size of ``reference``.

    An image with an alpha channel (strokes on a transparent layer, as drawing apps export
    them) is a layer over ``reference``: transparent pixels leave the frame unchanged,
    opaque ones replace it, others blend (alpha 0..1). 16-bit images are taken to 8 bits.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"edited reference {path} does not exist")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"could not read {path} as an image")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"edited reference {path} has {image.dtype} pixels: save it with "
                         "8 or 16 bits per channel")
    _check_size(image, reference.shape)
    if image.ndim == 2 or image.shape[2] != 4:  # no layer: read as every image is (EXIF
        return read_image(path, reference.shape)  # orientation applied, 16 bits to 8)
    rgb = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB).astype(np.float32)
    alpha = image[..., 3:].astype(np.float32) / 255.0
    if not alpha.any():
        raise ValueError(f"edited reference {path} is fully transparent: it edits nothing "
                         "(draw on the layer, or save the edited frame without alpha)")
    layered = reference.astype(np.float32) * (1.0 - alpha) + rgb * alpha
    return np.clip(np.rint(layered), 0, 255).astype(np.uint8)


def _check_size(image: np.ndarray, shape: tuple[int, ...]) -> None:
    if image.shape[:2] != shape[:2]:
        raise ValueError(
            f"edited reference is {image.shape[1]}x{image.shape[0]} but frames are "
            f"{shape[1]}x{shape[0]}: resize it or pass --ref-frame for the frame it was made "
            "from")


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
