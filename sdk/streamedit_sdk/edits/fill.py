"""Filling a new reference's unseen content with the edit itself, where the SDK can make it.

At a reference replacement (paper §3.2-3.3) the pixels the old reference did not see (content
that entered the picture, a face that turned) have no carried edit. For a user's own edited
frame they are inpainted from the edit around them. A built-in style is a function of the
frame, so those pixels get the style itself: new background a zooming camera reveals is drawn
in the same flat colours and outlines as its neighbours, not left as a block of live pixels
with the neighbours' average colour shift.
"""

from __future__ import annotations

import cv2
import numpy as np

from streamedit_sdk.core.inpaint import DeltaFill, EditInpainter, OpenCVInpainter
from streamedit_sdk.core.unseen import patches
from streamedit_sdk.edits.styles import style

FEATHER_PX = 6  # width of the seam (px inside the unseen region) where the carried edit's fill
# fades into the style made on the frame
PAINT_MARGIN_PX = 16  # context around that content the style is made with (its filters' reach)


class StyleFill:
    """An :class:`~streamedit_sdk.core.inpaint.EditInpainter` for a built-in style: the
    unseen pixels get ``style(frame) - frame``, faded over :data:`FEATHER_PX` px from the
    carried edit inpainted by ``base`` (default OpenCV Telea) at the seam."""

    def __init__(self, name: str, base: EditInpainter | None = None) -> None:
        self._style = style(name)  # unknown names fail here
        self.name = name
        self._base = base or DeltaFill(OpenCVInpainter())

    def fill(self, frame: np.ndarray, delta: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """frame (H, W, 3) uint8; delta (H, W, 3) float32 (edited - frame); mask (H, W) bool,
        True where ``delta`` is unreliable. Returns the delta with the masked pixels made."""
        if not mask.any():
            return delta
        made = self._style(frame).astype(np.float32) - frame.astype(np.float32)
        inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
        weight = np.clip(inside / FEATHER_PX, 0.0, 1.0)[..., None]
        seam = mask & (inside < FEATHER_PX)
        out = delta.copy()
        if seam.any():
            carried = self._base.fill(frame, delta, mask)
            out[mask] = (weight * made + (1.0 - weight) * carried)[mask]
        else:
            out[mask] = made[mask]
        return out

    def paint(self, frame: np.ndarray, output: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Frame by frame: ``output`` (H, W, 3) uint8 moved towards the style made on
        ``frame`` (H, W, 3) uint8 by ``weight`` ((h, w) float32 0..1 at any size, e.g. the
        work size: 1 on content no reference saw, where the output shows the live frame). The
        style is made at the frame's resolution on the patches where ``weight`` is above 0
        (:func:`~streamedit_sdk.core.unseen.patches`), grown by :data:`PAINT_MARGIN_PX` for
        its filters' reach. Changes ``output`` in place (a copy when it is read-only) and
        returns it."""
        found = patches(weight, output.shape[:2], PAINT_MARGIN_PX)
        if found and not output.flags.writeable:
            output = output.copy()
        side = min(output.shape[:2])
        for p in found:
            made = self._style(np.ascontiguousarray(frame[p.crop]), side=side)[p.inner]
            out = output[p.crop][p.inner]
            out[...] = np.clip(np.rint(out + p.weight * (made.astype(np.float32) - out)),
                               0, 255).astype(np.uint8)
        return output
