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
from streamedit_sdk.edits.styles import style

FEATHER_PX = 6  # width of the seam (px inside the unseen region) where the carried edit's fill
# fades into the style made on the frame
PAINT_FEATHER_PX = 3  # the same for the frame-by-frame paint of content no reference saw
PAINT_MARGIN_PX = 32  # context around that content the style is made with (its filters' reach)


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

    def paint(self, frame: np.ndarray, output: np.ndarray, unseen: np.ndarray) -> np.ndarray:
        """Frame by frame: ``output`` (H, W, 3) uint8 with the content no reference saw (the
        live frame there) drawn in the style, made on ``frame`` (H, W, 3) uint8 in the box of
        ``unseen`` ((h, w) bool at any size, e.g. the work size) grown by
        :data:`PAINT_MARGIN_PX`, faded in over :data:`PAINT_FEATHER_PX` px. Changes
        ``output`` in place (a copy when it is read-only) and returns it."""
        h, w = output.shape[:2]
        uh, uw = unseen.shape
        bx, by, bw, bh = cv2.boundingRect(unseen.astype(np.uint8))
        if bw == 0:
            return output
        sx, sy = w / uw, h / uh
        x0 = max(0, int(bx * sx) - PAINT_MARGIN_PX) & ~1  # even: the style's half-size pass
        y0 = max(0, int(by * sy) - PAINT_MARGIN_PX) & ~1  # lines up with the frame's
        x1 = min(w, int(np.ceil((bx + bw) * sx)) + PAINT_MARGIN_PX)
        y1 = min(h, int(np.ceil((by + bh) * sy)) + PAINT_MARGIN_PX)
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        made = self._style(crop, side=min(h, w)).astype(np.float32)
        at = unseen.astype(np.uint8)
        if (uh, uw) != (h, w):
            at = cv2.resize(at, (w, h), interpolation=cv2.INTER_NEAREST)
        at = np.ascontiguousarray(at[y0:y1, x0:x1])
        inside = cv2.distanceTransform(at, cv2.DIST_L2, 3)
        weight = np.clip(inside / PAINT_FEATHER_PX, 0.0, 1.0)[..., None]
        if not output.flags.writeable:
            output = output.copy()
        box = output[y0:y1, x0:x1]
        box[...] = np.rint(box * (1.0 - weight) + made * weight).astype(np.uint8)
        return output
