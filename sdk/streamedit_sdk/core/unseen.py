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

from dataclasses import dataclass

import cv2
import numpy as np

from streamedit_sdk.core.inpaint import Inpainter
from streamedit_sdk.maps import off_reference, outside_source

LIVE_FROM = 0.5  # where between pixel_sigma and inpaint_sigma the live frame starts to show:
# below, the reference's content is only misaligned (replace mode's warp keeps the edit sharp)


def live_weight(corr_map: np.ndarray, to_origin_work: np.ndarray, sigma: np.ndarray,
                pixel_sigma: float, inpaint_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """How far the reference fails to describe each pixel, at work size: ((h, w) float32
    0..1, (h, w) bool where no reference pixel supplies it at all).

    The weight is 1 where no reference pixel supplies the pixel (the correspondence leaves the
    reference, the edit's trace leaves the origin: the second array); elsewhere a ramp of the
    correspondence's Laplace scale from :data:`LIVE_FROM` of the way between ``pixel_sigma``
    and ``inpaint_sigma`` (0) to ``inpaint_sigma`` (1), the level at which a replacement takes
    a pixel as unseen. corr_map: (h, w, 2) float32 host, current -> reference work px;
    to_origin_work: (h, w, 2) host; sigma: float32 host at any size, 0..1.
    """
    h, w = corr_map.shape[:2]
    if sigma.shape != (h, w):
        sigma = cv2.resize(sigma, (w, h), interpolation=cv2.INTER_AREA)
    lo = pixel_sigma + LIVE_FROM * (inpaint_sigma - pixel_sigma)
    weight = np.clip((sigma - np.float32(lo)) * np.float32(1.0 / max(inpaint_sigma - lo, 1e-6)),
                     0.0, 1.0)
    unseen = outside_source(corr_map, w, h) | off_reference(to_origin_work)
    weight[unseen] = 1.0
    return weight, unseen


def follow_live(output: np.ndarray, frame: np.ndarray, delta: np.ndarray,
                weight: np.ndarray, unseen: np.ndarray | None,
                inpainter: Inpainter) -> np.ndarray:
    """Replace mode's ``output`` (H, W, 3) uint8 moved towards ``frame + delta`` by
    ``weight``.

    frame: (H, W, 3) uint8 the live frame; delta: (H, W, 3) float32 the carried edit's
    difference (what residual mode adds); weight: (h, w) float32 0..1 at any size
    (:func:`live_weight`), resized bilinearly; unseen: (h, w) bool like it, where no
    reference pixel supplies the delta, or None. There the delta is filled by ``inpainter``
    from the delta around, so an
    opening of the mouth or content entering at the frame's edge takes the edit of its
    surroundings (a whole-look edit) rather than staying live. Only the patches where the
    weight is above 0 are touched (:func:`patches`); ``output`` is changed in place (a copy
    when it is read-only) and returned.
    """
    found = patches(weight, output.shape[:2], FILL_MARGIN_PX)
    if found and not output.flags.writeable:
        output = output.copy()
    h, w = output.shape[:2]
    if unseen is not None and unseen.shape != (h, w):
        unseen = cv2.resize(unseen.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    for p in found:
        near = delta[p.crop]
        empty = None if unseen is None else unseen[p.crop] > 0
        if empty is not None and empty.any():
            near = inpainter.inpaint(np.ascontiguousarray(near), empty)
        live = frame[p.crop][p.inner].astype(np.float32) + near[p.inner]
        out = output[p.crop][p.inner]
        out[...] = np.clip(np.rint(out + p.weight * (live - out)), 0, 255).astype(np.uint8)
    return output


FILL_MARGIN_PX = 8  # context around a patch the delta's fill sees
CELL_PX = 16  # work px: patches are the boxes of touching cells of this size with weight


@dataclass(frozen=True)
class Patch:
    """Where to work on an output: ``crop`` (slices of the output, grown by a margin for the
    context an operation needs), ``inner`` (slices of the crop: the cells themselves) and the
    weight there, (inner h, inner w, 1) float32 0..1."""

    crop: tuple[slice, slice]
    inner: tuple[slice, slice]
    weight: np.ndarray


def patches(weight: np.ndarray, size: tuple[int, int], margin: int) -> list[Patch]:
    """Where ``weight`` ((h, w) float32 0..1 at any size) is above 0, in an image of ``size``
    (H, W): the boxes of touching :data:`CELL_PX` cells that hold some (a strip along the
    frame's edge, a mouth, a few scattered specks each cost their own cells, not the box
    around them all), each grown by ``margin`` px for context (crop corners even: a half-size
    pass over a crop lines up with the whole image's), with the weight resized into it."""
    h, w = size
    uh, uw = weight.shape
    sx, sy = w / uw, h / uh
    on = weight > 0
    if not on.any():
        return []
    cells = np.maximum.reduceat(np.maximum.reduceat(on, np.arange(0, uh, CELL_PX), axis=0),
                                np.arange(0, uw, CELL_PX), axis=1).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(cells, connectivity=8)
    found = []
    for cx, cy, cw, ch, _ in stats[1:count]:
        y0 = int(round(cy * CELL_PX * sy))
        y1 = min(h, int(round(min((cy + ch) * CELL_PX, uh) * sy)))
        x0 = int(round(cx * CELL_PX * sx))
        x1 = min(w, int(round(min((cx + cw) * CELL_PX, uw) * sx)))
        cy0, cx0 = max(0, y0 - margin) & ~1, max(0, x0 - margin) & ~1
        cy1, cx1 = min(h, y1 + margin), min(w, x1 + margin)
        found.append(Patch((slice(cy0, cy1), slice(cx0, cx1)),
                           (slice(y0 - cy0, y1 - cy0), slice(x0 - cx0, x1 - cx0)),
                           _resized(weight, sx, sy, y0, y1, x0, x1)))
    return found


def _resized(weight: np.ndarray, sx: float, sy: float, y0: int, y1: int, x0: int,
             x1: int) -> np.ndarray:
    """``weight`` over output px [y0, y1) x [x0, x1), (y1 - y0, x1 - x0, 1) float32, bilinear
    with pixel centres aligned as ``cv2.resize`` aligns them."""
    if sx == 1.0 and sy == 1.0:
        return weight[y0:y1, x0:x1, None]
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5) / np.float32(sx) - 0.5
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5) / np.float32(sy) - 0.5
    mx, my = np.meshgrid(xs, ys)
    inside = cv2.remap(weight, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return inside[..., None]
