"""Content the reference does not describe, and what replace mode shows there (issue 41).

Replace mode warps the edited reference onto the frame. Where the frame shows content the
reference has no counterpart for, that warp tears: content no reference saw (the correspondence
leaves the reference, or the edit's trace leaves the origin: the live frame shows there), and
content the reference shows differently (eyes closed over open ones, a mouth closed over teeth,
swinging jewellery: the correspondence's uncertainty rises towards
:attr:`~streamedit_sdk.config.ReplacementConfig.inpaint_sigma`, the level at which a
replacement takes a pixel as unseen). There the output follows the live frame, by degrees
(:func:`live_weight`): the edit's difference added to it (:func:`follow_live`), or an edit
the SDK can make itself made on it (:class:`~.inpaint.NewContentPainter`, a built-in style).
"""

from __future__ import annotations

import cv2
import numpy as np

from streamedit_sdk.core.inpaint import Inpainter
from streamedit_sdk.maps import off_reference, outside_source

LIVE_FROM = 0.5  # where between pixel_sigma and inpaint_sigma the live frame starts to show:
# below, the reference's content is only misaligned (replace mode's warp keeps the edit sharp)


def live_weight(corr_map: np.ndarray, to_origin_work: np.ndarray, sigma: np.ndarray,
                pixel_sigma: float, inpaint_sigma: float) -> np.ndarray:
    """(h, w) float32 0..1 at work size: how far the reference fails to describe each pixel.

    1 where no reference pixel supplies it (the correspondence leaves the reference, the
    edit's trace leaves the origin); elsewhere a ramp of the correspondence's Laplace scale
    from :data:`LIVE_FROM` of the way between ``pixel_sigma`` and ``inpaint_sigma`` (0) to
    ``inpaint_sigma`` (1), the level at which a replacement takes a pixel as unseen.
    corr_map: (h, w, 2) float32 host, current -> reference work px; to_origin_work: (h, w, 2)
    host; sigma: float32 host at any size, 0..1.
    """
    h, w = corr_map.shape[:2]
    if sigma.shape != (h, w):
        sigma = cv2.resize(sigma, (w, h), interpolation=cv2.INTER_AREA)
    lo = pixel_sigma + LIVE_FROM * (inpaint_sigma - pixel_sigma)
    weight = np.clip((sigma - np.float32(lo)) * np.float32(1.0 / max(inpaint_sigma - lo, 1e-6)),
                     0.0, 1.0)
    weight[outside_source(corr_map, w, h) | off_reference(to_origin_work)] = 1.0
    return weight


def follow_live(output: np.ndarray, frame: np.ndarray, delta: np.ndarray,
                weight: np.ndarray, inpainter: Inpainter) -> np.ndarray:
    """Replace mode's ``output`` (H, W, 3) uint8 moved towards ``frame + delta`` by
    ``weight``.

    frame: (H, W, 3) uint8 the live frame; delta: (H, W, 3) float32 the carried edit's
    difference (what residual mode adds); weight: (h, w) float32 0..1 at any size
    (:func:`live_weight`), resized bilinearly. Where it is 1 the delta carries nothing (no
    reference pixel): there it is filled by ``inpainter`` from the delta around, so an
    opening of the mouth or content entering at the frame's edge takes the edit of its
    surroundings (a whole-look edit) rather than staying live. Only the box where the
    weight is above 0 is touched; ``output`` is changed in place (a copy when it is
    read-only) and returned.
    """
    box = weighted_box(weight, output.shape[:2], 1)
    if box is None:
        return output
    y0, y1, x0, x1, w = box
    if not output.flags.writeable:
        output = output.copy()
    near = delta[y0:y1, x0:x1]
    empty = w[..., 0] >= 1.0
    if empty.any():
        near = inpainter.inpaint(np.ascontiguousarray(near), empty)
    live = frame[y0:y1, x0:x1].astype(np.float32) + near
    out = output[y0:y1, x0:x1]
    out[...] = np.clip(np.rint(out + w * (live - out)), 0, 255).astype(np.uint8)
    return output


def weighted_box(weight: np.ndarray, size: tuple[int, int], margin: int
                 ) -> tuple[int, int, int, int, np.ndarray] | None:
    """The box (y0, y1, x0, x1) where ``weight`` ((h, w) float32 0..1 at any size) is above 0,
    in an image of ``size`` (H, W), grown by ``margin`` px (y0, x0 even: a half-size pass over
    the box lines up with the whole image's), and the weight resized into it (box h, box w,
    1) float32; None when it is 0 everywhere."""
    h, w = size
    uh, uw = weight.shape
    bx, by, bw, bh = cv2.boundingRect((weight > 0).astype(np.uint8))
    if bw == 0:
        return None
    sx, sy = w / uw, h / uh
    x0 = max(0, int(bx * sx) - margin) & ~1
    y0 = max(0, int(by * sy) - margin) & ~1
    x1 = min(w, int(np.ceil((bx + bw) * sx)) + margin)
    y1 = min(h, int(np.ceil((by + bh) * sy)) + margin)
    if (uh, uw) == (h, w):
        return y0, y1, x0, x1, weight[y0:y1, x0:x1, None]
    # the box's pixel centres in weight's px (as cv2.resize aligns them)
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5) / np.float32(sx) - 0.5
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5) / np.float32(sy) - 0.5
    mx, my = np.meshgrid(xs, ys)
    inside = cv2.remap(weight, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return y0, y1, x0, x1, inside[..., None]
