"""Filling the pixels a new reference could not take from the old one (paper §3.3)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from streamedit_sdk.frames import paste, resize_to


class Inpainter(Protocol):
    """``inpaint(image, mask)``: image (H, W, C) uint8 or float32, mask (H, W) bool, True = fill.

    Returns an image like ``image`` with the masked pixels replaced; others unchanged.
    """

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


class EditInpainter(Protocol):
    """Fills the edit of a new reference where the old reference could not supply it.

    ``fill(frame, delta, mask)``: frame (H, W, 3) uint8, the new reference; delta (H, W, 3)
    float32, its carried edit (edited - frame), unreliable where ``mask`` (H, W) bool is True.
    Returns the delta with the masked pixels filled; the others unchanged. Generative
    inpainters (:class:`streamedit_sdk.generative.DiffusionInpainter`) see the frame and can
    paint new content; an :class:`Inpainter` fills the difference itself (:class:`DeltaFill`).
    """

    def fill(self, frame: np.ndarray, delta: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class NewContentPainter(Protocol):
    """An :class:`EditInpainter` that can also make the edit on live content itself, frame by
    frame (a built-in style: :class:`streamedit_sdk.edits.fill.StyleFill`).

    ``paint(frame, output, weight)``: frame, output (H, W, 3) uint8, the live frame and its
    edited output; weight (h, w) float32 0..1 at any size, how far the reference fails to
    describe each pixel (1: content no reference saw, where the output shows the live frame).
    Returns the output moved towards the edit made on the frame by ``weight``.
    """

    def fill(self, frame: np.ndarray, delta: np.ndarray, mask: np.ndarray) -> np.ndarray: ...

    def paint(self, frame: np.ndarray, output: np.ndarray, weight: np.ndarray) -> np.ndarray: ...


class DeltaFill:
    """An :class:`Inpainter` as an :class:`EditInpainter`: inpaints the edit's difference."""

    def __init__(self, inpainter: Inpainter) -> None:
        self.inpainter = inpainter

    def fill(self, frame: np.ndarray, delta: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.inpainter.inpaint(delta, mask)


def as_edit_inpainter(inpainter: Inpainter | EditInpainter) -> EditInpainter:
    """``inpainter`` itself when it has ``fill``, else wrapped in :class:`DeltaFill`."""
    if hasattr(inpainter, "fill"):
        return inpainter
    if not hasattr(inpainter, "inpaint"):
        raise TypeError("an inpainter needs inpaint(image, mask) or fill(frame, delta, mask)")
    return DeltaFill(inpainter)


class OpenCVInpainter:
    """Telea inpainting (``cv2.inpaint``), run at most at ``max_side`` px for speed.

    The fill is computed on a downscaled copy when the image is larger, upscaled, and pasted into
    the masked pixels only, so unmasked pixels keep full resolution. What the editor inpaints is
    the edit's difference, which is smooth where it matters: at 256 px the fill costs a quarter
    of what it costs at 512 (75 -> 19 ms for a reference replacement here). ``radius`` is in
    px of that downscaled copy.
    """

    def __init__(self, radius: int = 5, max_side: int = 256) -> None:
        self._radius = radius
        self._max_side = max_side

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return image
        h, w = mask.shape
        scale = min(1.0, self._max_side / max(h, w))
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = resize_to(image, sw, sh)
        small_mask = cv2.resize(mask.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
        small_mask = cv2.dilate(small_mask, np.ones((3, 3), np.uint8))
        if small.dtype == np.uint8 and small.ndim == 3 and small.shape[2] == 3:
            filled = cv2.inpaint(small, small_mask, self._radius, cv2.INPAINT_TELEA)
        else:  # float or other channel counts: one channel at a time (32F 1-channel supported)
            planes = small.reshape(sh, sw, -1).astype(np.float32)
            filled = np.stack([cv2.inpaint(np.ascontiguousarray(planes[..., c]), small_mask,
                                           self._radius, cv2.INPAINT_TELEA)
                               for c in range(planes.shape[2])], axis=-1)
            filled = filled.reshape(small.shape).astype(image.dtype)
        full = resize_to(filled, w, h) if scale < 1.0 else filled
        return paste(image.copy(), full, mask)
