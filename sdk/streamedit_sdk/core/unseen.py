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
from typing import TYPE_CHECKING

import cv2
import numpy as np

from streamedit_sdk.config import ReplacementConfig
from streamedit_sdk.core.inpaint import NewContentPainter
from streamedit_sdk.maps import off_reference, outside_source
from streamedit_sdk.sides.base import ArrayOps

if TYPE_CHECKING:
    from streamedit_sdk.core.match import FrameMatch

LIVE_FROM = 0.5  # where between pixel_sigma and inpaint_sigma the live frame starts to show:
# below, the reference's content is only misaligned (replace mode's warp keeps the edit sharp)


@dataclass(frozen=True)
class LiveWeight:
    """How far the reference fails to describe each pixel of a frame, at half the work size.

    weight: (h', w') float32 0..1; unseen: (h', w') bool, where no reference pixel supplies
    the pixel at all; new: the part of ``unseen`` that is content no reference held (the edit's
    trace leaves the origin, or the correspondence points more than :data:`NEW_PX` past the
    reference's edge), not a rim a few px wide that flow drifts over at the frame's edge."""

    weight: np.ndarray
    unseen: np.ndarray
    new: np.ndarray


NEW_PX = 4.0  # work px past the reference's edge from which content is new to it


def live_weight(corr_map: np.ndarray, to_origin_work: np.ndarray, sigma: np.ndarray,
                pixel_sigma: float, inpaint_sigma: float) -> LiveWeight:
    """How far the reference fails to describe each pixel, at half the work size (every
    second pixel each way; sigma is a windowed mean, smooth at that scale).

    The weight is 1 on content new to the reference (:attr:`LiveWeight.new`), 0 on the rest
    of what no reference pixel supplies (the rim of a few px past the reference's edge that
    flow drifts over at the frame's edge, where replace mode shows the live frame as it
    always did); elsewhere a ramp of the
    correspondence's Laplace scale from :data:`LIVE_FROM` of the way between ``pixel_sigma``
    and ``inpaint_sigma`` (0) to ``inpaint_sigma`` (1), the level at which a replacement takes
    a pixel as unseen. corr_map: (h, w, 2) float32 host, current -> reference work px;
    to_origin_work: (h, w, 2) host; sigma: float32 host at any size, 0..1.
    """
    h, w = corr_map.shape[:2]
    corr_map, to_origin_work = corr_map[::2, ::2], to_origin_work[::2, ::2]
    sigma = cv2.resize(sigma, corr_map.shape[1::-1], interpolation=cv2.INTER_AREA)
    lo = pixel_sigma + LIVE_FROM * (inpaint_sigma - pixel_sigma)
    weight = np.clip((sigma - np.float32(lo)) * np.float32(1.0 / max(inpaint_sigma - lo, 1e-6)),
                     0.0, 1.0)
    off = off_reference(to_origin_work)
    new = outside_source(corr_map, w, h, NEW_PX) | off
    unseen = outside_source(corr_map, w, h) | off
    weight[unseen] = 0.0  # the rim flow drifts over at the frame's edge: left as it is
    weight[new] = 1.0
    return LiveWeight(weight, unseen, new)


def follow_unseen(match: FrameMatch, xp: ArrayOps, cfg: ReplacementConfig,
                  painter: NewContentPainter | None) -> np.ndarray:
    """Replace mode's output (host (H, W, 3) uint8, ``match.edited`` changed in place where it
    can be) where the reference does not describe the frame's content: the edit made on the
    live frame by ``painter`` (a built-in style: newly seen content is styled like its
    neighbours, not left live until the next reference takes it in), else the live frame plus
    the edit's difference (closed eyes stay closed under the edit, rather than tearing the
    reference's open ones). ``cfg``: the stream's replacement settings (its sigma levels)."""
    live = live_weight(xp.to_host(match.corr_map), xp.to_host(match.carried.to_origin_work),
                       xp.to_host(match.sigma), cfg.pixel_sigma, cfg.inpaint_sigma)
    weight, unseen = live.weight, live.new
    edited = match.edited
    view = match.view
    hidden = (view.visible[::2, ::2] < 0.5 if view is not None and view.hidden_share > 0.0
              else None)  # (the weight is at half the work size)
    if painter is not None:  # content new to the reference, content the reference shows
        # otherwise (a hand over the clothes) and what hides the face (a hand over it), in
        # pieces thicker than a sliver: made on the frame, so a hand shows as a hand, in the
        # style; the rest as below (making the style on every scattered pixel or on the rim
        # flow drifts over at the frame's edge would cost as much as the correspondence)
        other = weight >= 1.0  # (1 on new content too)
        thick = solid(other if hidden is None else other | hidden)
        if thick.any():
            edited = painter.paint(match.obs.rgb, edited, thick.astype(np.float32))
            weight[thick] = 0.0
            unseen &= ~thick
    if hidden is not None:  # the difference is the face's: never added onto what hides it
        weight *= view.visible[::2, ::2]
    if not weight.any():  # (the delta is downloaded only when it is used)
        return edited
    return follow_live(edited, match.obs.rgb, xp.to_host(match.carried.delta), weight, unseen)


SLIVER_PX = 3  # px of live_weight's (half the work size): unseen pieces thinner than this
# are slivers (the rim a still camera leaves)


def solid(unseen: np.ndarray) -> np.ndarray:
    """(h, w) bool: the pieces of ``unseen`` ((h, w) bool) at least :data:`SLIVER_PX` thick
    (a morphological opening), whole."""
    if not unseen.any():
        return unseen
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (SLIVER_PX, SLIVER_PX))
    return cv2.morphologyEx(unseen.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)


def follow_live(output: np.ndarray, frame: np.ndarray, delta: np.ndarray,
                weight: np.ndarray, unseen: np.ndarray | None) -> np.ndarray:
    """Replace mode's ``output`` (H, W, 3) uint8 moved towards ``frame + delta`` by
    ``weight``.

    frame: (H, W, 3) uint8 the live frame; delta: (H, W, 3) float32 the carried edit's
    difference (what residual mode adds); weight: (h, w) float32 0..1 at any size
    (:func:`live_weight`), resized bilinearly; unseen: (h, w) bool like it, where no
    reference pixel supplies the delta, or None. There the delta is filled from the delta
    around (:func:`fill_from_around`), so an
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
            near = fill_from_around(near, empty)
        live = cv2.add(frame[p.crop][p.inner], near[p.inner], dtype=cv2.CV_8U)  # rounded,
        out = output[p.crop][p.inner]  # saturated
        weight = np.ascontiguousarray(p.weight[..., 0])
        out[...] = cv2.blendLinear(live, np.ascontiguousarray(out), weight, 1.0 - weight)
    return output


FILL_MARGIN_PX = 8  # context around a patch the delta's fill sees
CELL_PX = 8  # px of the weight (half the work size): patches are boxes of touching cells


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
        uy0, uy1 = cy * CELL_PX, min((cy + ch) * CELL_PX, uh)  # the cells, weight px
        ux0, ux1 = cx * CELL_PX, min((cx + cw) * CELL_PX, uw)
        y0, y1 = int(round(uy0 * sy)), min(h, int(round(uy1 * sy)))  # the same, output px
        x0, x1 = int(round(ux0 * sx)), min(w, int(round(ux1 * sx)))
        cy0, cx0 = max(0, y0 - margin) & ~1, max(0, x0 - margin) & ~1
        cy1, cx1 = min(h, y1 + margin), min(w, x1 + margin)
        inner = weight[uy0:uy1, ux0:ux1]
        if inner.shape != (y1 - y0, x1 - x0):  # bilinear (soft: half a px at the box's edge
            inner = cv2.resize(inner, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        found.append(Patch((slice(cy0, cy1), slice(cx0, cx1)),  # matters not)
                           (slice(y0 - cy0, y1 - cy0), slice(x0 - cx0, x1 - cx0)),
                           inner[..., None]))
    return found


def fill_from_around(values: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """``values`` (h, w, C) float32 with the ``holes`` ((h, w) bool) filled smoothly from the
    values around them (push-pull: averages over an image pyramid, the finest level that
    reaches a hole fills it), in time linear in the area: a strip along the frame's edge or
    an opening mouth, every frame. Returns a new array; values outside the holes unchanged."""
    known = (~holes).astype(np.float32)
    if not known.any():
        return values.copy()
    levels = [(values * known[..., None], known)]
    while min(levels[-1][1].shape) > 1 and levels[-1][1].min() == 0.0:
        v, k = levels[-1]
        levels.append((_down(v), _down(k)))
    v, k = levels[-1]
    filled = v / np.maximum(k, 1e-6)[..., None]
    for v, k in reversed(levels[:-1]):
        up = cv2.resize(filled, (k.shape[1], k.shape[0]), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(k.shape[0], k.shape[1], -1)
        mean = v / np.maximum(k, 1e-6)[..., None]
        trust = np.minimum(k, 1.0)[..., None]
        filled = mean * trust + up * (1.0 - trust)
    out = values.copy()
    out[holes] = filled[holes]
    return out


def _down(a: np.ndarray) -> np.ndarray:
    """Sum of each 2 x 2 block (the last row or column alone when odd), as float32."""
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        a = np.pad(a, ((0, h % 2), (0, w % 2)) + ((0, 0),) * (a.ndim - 2))
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]).astype(np.float32)
