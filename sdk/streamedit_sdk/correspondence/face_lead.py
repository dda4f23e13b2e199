"""Geometry first on the face: the face mesh decides where a face pixel goes.

Optical flow (or a network) matches a textureless cheek "photometrically well" with maps that
drag, tear and bend whatever is drawn on it. So inside the face the map is the landmark map
(barycentric warp over the face mesh, paper §3.1). By default that is all
(:attr:`FaceLead.bound` 0). With a bound, the flow may add a correction that is

- smooth: one affine motion of the whole face fitted to the flow's difference to the mesh
  (``correction="affine"``), or that difference averaged by normalised convolution with a
  Gaussian of :attr:`FaceLead.smooth` inter-ocular distances (IOD, ``"local"``), so a sticker
  moves as one piece;
- supported by texture: each pixel's vote is weighted by its gradient energy, so flat skin
  follows the mesh and textured skin (brows, lips, moles) aligns the mesh's jitter;
- bounded: at most :attr:`FaceLead.bound` IOD (the affine one fades out beyond it, where flow
  and mesh disagree by more than jitter), so no flow failure can carry an edit away.

Off the face (hair, body, background, hands) the flow's map is kept; between the two the
weights blend over a feathered edge of :attr:`FaceLead.feather` IOD.

Where the mouth or an eye is open on the current frame but was closed (or less open) on the
reference, the pixels inside the opening map to no reference pixel (:func:`openings`): the
reference never saw the teeth or the iris, so no map can be right there, and the edit must
neither smear the lips over them nor hide them. The editor shows the live frame there (residual
mode adds no difference) until ARR takes a reference that sees them.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from streamedit_sdk.config import FaceLead
from streamedit_sdk.maps import OFF_REFERENCE, identity_map
from streamedit_sdk.sides.base import shrink_for

IRIS_LEFT, IRIS_RIGHT = 468, 473  # iris centres of the refined face mesh
# inner contours of the openings of the MediaPipe face mesh (closed polygons)
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178,
              88, 95)
LEFT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
RIGHT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
OPENINGS = (INNER_LIPS, LEFT_EYE, RIGHT_EYE)
_SLACK = np.ones((3, 3), np.uint8)
_SMALL = 4  # the correction is estimated at 1/4 of the work size (it is smooth)
_SIGMA_LEFT = 1.5  # px of sigma kept where the mesh's displacement is smoothed at a smaller size
_TEXTURE = 0.02 ** 2  # gradient energy (intensity 0..1 per px, squared) of half confidence
_DETAIL_TEXTURE = 0.05 ** 2  # gradient energy of half weight for the flow's detail
_EDITED = 8.0  # intensity levels from which a pixel counts as edited (attached_edit)
_MARGIN = 0.01  # mean residual (intensity 0..1) by which the flow must beat the led map


def interocular(landmarks: np.ndarray) -> float:
    """Iris centre to iris centre, px (at least 1)."""
    return max(float(np.linalg.norm(landmarks[IRIS_RIGHT] - landmarks[IRIS_LEFT])), 1.0)


def face_mask(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """(h, w) uint8 1 inside the convex hull of ``landmarks`` (px)."""
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(landmarks).astype(np.int32)), 1)
    return mask


def led_map(lead: FaceLead, flow_map: np.ndarray, mesh_map: np.ndarray, gray: np.ndarray,
            ref_gray: np.ndarray, landmarks: np.ndarray,
            attached: np.ndarray | None = None) -> np.ndarray:
    """The map the edit is carried with, (h, w, 2) float32 reference px (``lead``: its
    lengths, :class:`~streamedit_sdk.config.FaceLead`).

    flow_map: (h, w, 2) float32 the flow's (or network's) map; mesh_map: (h, w, 2) the
    landmark map it started from; gray, ref_gray: (h, w) uint8 current frame and
    reference; landmarks: (478, 2) float32 current frame px; attached: (h, w) uint8 the
    reference's :func:`attached_edit` or None; all at work size.

    The mesh leads only on the face and within :attr:`FaceLead.ring` past it; everywhere
    else the flow's map is kept. So the work is done in the face's box grown by that reach
    and by what the smoothings read around a pixel (:func:`smoothing_reach`): a face of a
    fifth of the frame costs a fifth of the frame. Within that box the led map itself (the
    flow's detail, :func:`_evidence`) is made only where it is used, on the pixels of
    weight above 0 and :data:`_DETAIL_REACH` around them: on a close-up the ring's reach
    spans the whole frame, the face a quarter of it.
    """
    h, w = gray.shape
    iod = interocular(landmarks)
    ring = attached is not None and lead.ring > 0.0 and bool(attached.any())
    reach = lead.ring * iod if ring else 0.0
    y0, y1, x0, x1 = grown_box(landmarks, reach + smoothing_reach(lead) * iod + 12.0, w, h)
    crop = (slice(y0, y1), slice(x0, x1))
    face = face_mask(landmarks - np.float32([x0, y0]), x1 - x0, y1 - y0)  # in the box
    flow_in = flow_map[crop]
    near = mesh_map[crop]
    if lead.mesh_smooth > 0.0:
        near = smooth_mesh(near, lead.mesh_smooth * iod, pixel_grid(h, w)[crop])
    weight = _weight(lead, face, iod)
    if ring:
        ring_weight, stray_in = _ring(face, reach, attached, near, flow_in)
        weight = np.maximum(weight, ring_weight)
    out = flow_map.copy()
    used = _support(weight, 0 if lead.bound > 0.0 else _DETAIL_REACH)
    if used is not None:
        (b0, b1, a0, a1), (u0, u1, v0, v1) = used  # the part read, and within it the part used
        part = (slice(b0, b1), slice(a0, a1))
        led = _led(lead, flow_in[part], near[part], gray[crop][part], ref_gray,
                   face[part].astype(np.float32), iod)[u0:u1, v0:v1]
        flow_used = flow_in[b0 + u0:b0 + u1, a0 + v0:a0 + v1]
        kept = weight[b0 + u0:b0 + u1, a0 + v0:a0 + v1]
        out[y0 + b0 + u0:y0 + b0 + u1, x0 + a0 + v0:x0 + a0 + v1] = cv2.add(
            flow_used, cv2.multiply(cv2.subtract(led, flow_used), cv2.merge([kept, kept])))
    if ring:  # outside the box every pixel is farther than the reach from the face
        stray = _lands_on(attached, flow_map)
        stray[crop] = stray_in
        out[stray] = OFF_REFERENCE
    return out


_DETAIL_REACH = 12  # px around a pixel the flow's detail reads: the residual's and the
# texture's 7 px windows (3), the gradient (1) and the acceptance's Gaussian of 2 px (8)


def _support(weight: np.ndarray, reach: int) -> tuple[tuple[int, int, int, int],
                                                      tuple[int, int, int, int]] | None:
    """Where the led map is needed: the bounding box of ``weight`` > 0 ((h, w) float32),
    grown by ``reach`` px within the frame, as (y0, y1, x0, x1); and the bounding box itself
    relative to that, the same way. With ``reach`` 0 the first is the whole of ``weight``
    (a correction fitted to the whole face, :func:`_affine_correction`, sees it all). None
    where no weight is above 0."""
    x, y, bw, bh = cv2.boundingRect((weight > 0.0).view(np.uint8))
    if bw == 0:
        return None
    h, w = weight.shape
    if reach:
        y0, y1 = max(y - reach, 0), min(y + bh + reach, h)
        x0, x1 = max(x - reach, 0), min(x + bw + reach, w)
    else:
        y0, y1, x0, x1 = 0, h, 0, w
    return (y0, y1, x0, x1), (y - y0, y + bh - y0, x - x0, x + bw - x0)


def smoothing_reach(lead: FaceLead) -> float:
    """How far (IOD) the face lead's smoothings read around a pixel: 4 sigma (OpenCV's
    Gaussian kernels) of the mesh's smoothing and of the local correction. (The detail's
    windows, 7 px and a 2 px Gaussian, read 11 px at most.)"""
    local = lead.smooth if lead.bound > 0.0 and lead.correction == "local" else 0.0
    return 4.0 * max(lead.mesh_smooth, local)


def grown_box(points: np.ndarray, grow: float, width: int, height: int
              ) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the bounding box of ``points`` ((N, 2) px) grown by ``grow`` px,
    corner and size on multiples of 4 px where the frame allows (a smoothing at 1/2 or 1/4
    of the size then samples the frame's own grid, whatever the box), in a frame ``width``
    x ``height`` (at least one pixel)."""
    lo = np.floor(points.min(axis=0) - grow)
    hi = np.ceil(points.max(axis=0) + grow) + 1
    x0 = int(min(max(lo[0], 0), width - 1)) // 4 * 4
    y0 = int(min(max(lo[1], 0), height - 1)) // 4 * 4
    x1 = x0 + -(-int(max(hi[0] - x0, 1)) // 4) * 4
    y1 = y0 + -(-int(max(hi[1] - y0, 1)) // 4) * 4
    return y0, min(y1, height), x0, min(x1, width)


def _led(lead: FaceLead, flow_map: np.ndarray, mesh_map: np.ndarray, gray: np.ndarray,
         ref_gray: np.ndarray, face: np.ndarray, iod: float) -> np.ndarray:
    """The led map in one box of the frame, (h, w, 2) float32 reference px, from the box's
    flow map and (smoothed) mesh map, grey frame and face mask ((h, w) float32 0 or 1);
    ``ref_gray`` whole."""
    led, energy = mesh_map, None
    if lead.bound > 0.0 or lead.detail:
        g = gray.astype(np.float32) * (1.0 / 255.0)
        gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        energy = cv2.add(cv2.multiply(gx, gx), cv2.multiply(gy, gy))
    if lead.bound > 0.0:
        fit = _affine_correction if lead.correction == "affine" else _correction
        led = cv2.add(mesh_map, fit(lead, flow_map, mesh_map, face, energy, iod))
    if lead.detail:
        led = led + _evidence(lead, flow_map, led, gray, ref_gray, energy, iod) * (flow_map - led)
    return led


def smooth_mesh(mesh_map: np.ndarray, sigma: float, grid: np.ndarray | None = None
                ) -> np.ndarray:
    """The landmark map with its displacement (map - pixel position) Gaussian-smoothed by
    ``sigma`` px: (h, w, 2) float32 reference px. The piecewise-affine warp is continuous but
    bends at every triangle edge; where the mesh's triangles are thin (a cheek turning towards
    the silhouette) those bends draw an edit out into wedges. Motions wider than ``sigma``
    are kept.

    The smoothed displacement has no detail finer than ``sigma``, so it is smoothed at up to
    1/4 of the size (a factor keeping at least :data:`_SIGMA_LEFT` px of sigma) and
    interpolated back: within 0.35 px (99th percentile on the face, 0.6 at most) of smoothing
    at full size over every 10th of 300 frames of d0, d6, d11 and s18_camera at 512 px, at a
    fifth of the cost or less (a Gaussian of 0.08 IOD spans 25-70 px there). Where a face
    runs past the frame edge (the chin on d3), its triangles fold over the border anchors and
    the map jumps at the edge by tens of px, which smoothing at any size spreads.
    """
    h, w = mesh_map.shape[:2]
    grid = pixel_grid(h, w) if grid is None else grid  # (a box of a frame: its positions)
    shift = cv2.subtract(mesh_map, grid)
    k = shrink_for(sigma, most=_SMALL, least=_SIGMA_LEFT)
    if k > 1:
        shift = cv2.resize(shift, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA)
    shift = cv2.GaussianBlur(shift, (0, 0), max(sigma / k, 0.5), borderType=cv2.BORDER_REPLICATE)
    if k > 1:
        shift = cv2.resize(shift, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.add(grid, shift)


@lru_cache(maxsize=4)
def pixel_grid(h: int, w: int) -> np.ndarray:
    """(h, w, 2) float32 pixel positions (x, y), the identity map (cached per size: read
    only, so the per-frame maps need not allocate it)."""
    grid = identity_map(h, w)
    grid.flags.writeable = False
    return grid


def _affine_correction(lead: FaceLead, flow_map: np.ndarray, mesh_map: np.ndarray,
                       face: np.ndarray, energy: np.ndarray, iod: float) -> np.ndarray:
    """(h, w, 2) float32 px: the one affine motion of the whole face that best explains the
    flow's difference to the mesh on textured face pixels (robust weighted least squares).
    It takes out the mesh's jitter (the landmarks of a still face move by a pixel or two from
    frame to frame) without carrying any local drag, such as a talking mouth's, onto flat
    skin. Whole up to :attr:`bound` IOD at the face's textured points, fading to none at
    twice that."""
    h, w = face.shape
    ys, xs = np.mgrid[_SMALL // 2:h:_SMALL, _SMALL // 2:w:_SMALL]
    inner = cv2.erode(face, _SLACK, iterations=max(1, int(0.1 * iod)))
    vote = (energy / (energy + _TEXTURE) * inner)[ys, xs].ravel()
    keep = vote > 0.05
    if keep.sum() < 12:
        return np.zeros((h, w, 2), np.float32)
    vote = vote[keep].astype(np.float64)
    cx, cy = xs.ravel()[keep], ys.ravel()[keep]
    ox, oy = cx.mean(), cy.mean()
    a = np.stack([(cx - ox) / iod, (cy - oy) / iod, np.ones_like(vote)], 1)
    diff = (flow_map - mesh_map)[ys, xs].reshape(-1, 2)[keep].astype(np.float64)
    weight = vote
    for _ in range(3):  # iteratively reweighted: lids and lips that move on their own drop out
        sw = np.sqrt(weight)[:, None]
        p, *_ = np.linalg.lstsq(a * sw, diff * sw, rcond=None)
        r = np.linalg.norm(a @ p - diff, axis=1)
        weight = vote / (1.0 + (r / (0.02 * iod)) ** 2)
    gx = (np.arange(w, dtype=np.float32) - np.float32(ox)) / np.float32(iod)
    gy = (np.arange(h, dtype=np.float32) - np.float32(oy)) / np.float32(iod)
    p = p.astype(np.float32)
    corr = (gx[None, :, None] * p[0] + gy[:, None, None] * p[1] + p[2]).astype(np.float32)
    # how far the correction moves the face's textured points; beyond the bound the flow and
    # the mesh disagree by more than landmark jitter: the flow is dragging (or the mesh is
    # lost, which ARR handles), so the correction fades out rather than pushing an edit by
    # the full bound for as long as the disagreement lasts
    moved = float(np.linalg.norm(a @ p.astype(np.float64), axis=1).max())
    fade = min(1.0, max(0.0, 2.0 - moved / max(lead.bound * iod, 1e-6)))
    return corr * np.float32(fade)


def _correction(lead: FaceLead, flow_map: np.ndarray, mesh_map: np.ndarray, face: np.ndarray,
                energy: np.ndarray, iod: float) -> np.ndarray:
    """(h, w, 2) float32 px: the flow's difference to the mesh, weighted by texture on the
    face, smoothed over :attr:`smooth` IOD and bounded by :attr:`bound` IOD."""
    h, w = face.shape
    sw, sh = max(1, w // _SMALL), max(1, h // _SMALL)
    vote = cv2.multiply(cv2.divide(energy, energy + _TEXTURE), face)  # textured face pixels
    diff = cv2.subtract(flow_map, mesh_map)
    # estimated, smoothed and bounded at 1/4 size (OpenCV throughout: numpy's reductions
    # over the channel axis cost 6 ms a call at 512x512)
    num = cv2.resize(cv2.multiply(diff, cv2.merge([vote, vote])), (sw, sh),
                     interpolation=cv2.INTER_AREA)
    den = cv2.resize(vote, (sw, sh), interpolation=cv2.INTER_AREA)
    s = max(lead.smooth * iod / _SMALL, 0.5)
    num = cv2.GaussianBlur(num, (0, 0), s, borderType=cv2.BORDER_REFLECT_101)
    den = cv2.GaussianBlur(den, (0, 0), s, borderType=cv2.BORDER_REFLECT_101)
    corr = num / (den + 0.05)[..., None]  # little support: shrinks toward the mesh
    norm = np.sqrt(corr[..., 0] ** 2 + corr[..., 1] ** 2)
    corr *= np.minimum(1.0, lead.bound * iod / np.maximum(norm, 1e-6))[..., None]
    return cv2.resize(corr, (w, h), interpolation=cv2.INTER_LINEAR)


def _weight(lead: FaceLead, face: np.ndarray, iod: float) -> np.ndarray:
    """(h, w) float32: 1 inside the face, falling to 0 at its outline over
    :attr:`feather` IOD (the outline itself, against hair or background, is the flow's).
    ``face``: (h, w) uint8 0 or 1; ``iod`` in its px.

    The face eroded by the feather, then blurred by half of it. The erosion is a distance
    transform (an elliptic structuring element as wide as a close-up's feather, 10-15 px,
    cost 8 ms at 512x512 on two cores; this costs under 1). Both run in the face's box grown
    by the blur's reach (4 sigma, OpenCV's kernel) and a pixel: 0 beyond it.
    """
    r = int(round(lead.feather * iod))
    sigma = max(r / 2, 0.5)
    x, y, bw, bh = cv2.boundingRect(face)
    out = np.zeros(face.shape, np.float32)
    if bw == 0:
        return out
    grow = int(np.ceil(4 * sigma)) + 1
    h, w = face.shape
    y0, y1 = max(y - grow, 0), min(y + bh + grow, h)
    x0, x1 = max(x - grow, 0), min(x + bw + grow, w)
    part = face[y0:y1, x0:x1]
    if r >= 1:
        inside = cv2.distanceTransform(part, cv2.DIST_L2, cv2.DIST_MASK_5)
        part = (inside > r).view(np.uint8)
    out[y0:y1, x0:x1] = cv2.GaussianBlur(part.astype(np.float32), (0, 0), sigma)
    return out


def _ring(face: np.ndarray, reach: float, attached: np.ndarray, mesh_map: np.ndarray,
          flow_map: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the reference's face-attached edit (``attached``, (h, w) uint8 reference px) may
    show on the current frame: on the face and up to ``reach`` px past its outline.

    Returns the weight of the mesh off the face, (h, w) float32: on pixels the mesh map puts
    on the attached edit 1 up to ``reach`` / 2 px past the outline, falling to 0 at
    ``reach``; and 1 on every pixel within ``reach`` that the flow's map puts on the edit but
    the mesh map does not (background beside a sticker on a turning face, which the flow
    matches onto the sticker: shown, it is a speck of sticker left on the background). And
    the stray pixels, (h, w) bool: farther than ``reach`` from the face yet sent onto the
    attached edit by the flow's map (background next to a panning camera's face, another
    face). They must not show the edit, which belongs to the tracked face.
    """
    away = cv2.distanceTransform(1 - face.astype(np.uint8), cv2.DIST_L2, 3)
    ring = np.clip(2.0 - away * (2.0 / max(reach, 1.0)), 0.0, 1.0)
    on_mesh, on_flow = _lands_on(attached, mesh_map), _lands_on(attached, flow_map)
    weight = np.where(on_mesh, ring, np.float32(0.0))
    weight[on_flow & ~on_mesh & (away < max(reach, 1.0))] = 1.0
    return weight.astype(np.float32), (ring <= 0.0) & on_flow


def _lands_on(attached: np.ndarray, corr_map: np.ndarray) -> np.ndarray:
    """(h, w) bool: the pixels ``corr_map`` sends onto the ``attached`` edit (reference px)."""
    return cv2.remap(attached, corr_map, None, cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0


def attached_edit(delta: np.ndarray, landmarks: np.ndarray, share: float = 0.5) -> np.ndarray:
    """(h, w) uint8 1 on the pieces of an edit that belong to the face, 0 elsewhere.

    delta: (h, w, 3) float32 the reference's edit at work size (intensity levels);
    landmarks: (478, 2) the reference's work px. A piece is a connected region of pixels the
    edit changes by :data:`_EDITED` levels or more; it belongs to the face when at least
    ``share`` of it lies inside the face outline. Such a piece follows the face as one, even
    where it overhangs the outline (a sticker on a turned cheek); a style over the whole
    frame is one piece mostly off the face, which the flow keeps carrying off the face.
    """
    h, w = delta.shape[:2]
    edited = (np.abs(delta).max(axis=2) >= _EDITED).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edited, connectivity=8)
    if n <= 1:
        return np.zeros((h, w), np.uint8)
    face = face_mask(landmarks, w, h)
    inside = np.bincount(labels.ravel(), weights=face.ravel(), minlength=n)
    keep = (inside >= share * stats[:, cv2.CC_STAT_AREA]).astype(np.uint8)
    keep[0] = 0
    return keep[labels]


def _evidence(lead: FaceLead, flow_map: np.ndarray, led: np.ndarray, gray: np.ndarray,
              ref_gray: np.ndarray, energy: np.ndarray, iod: float) -> np.ndarray:
    """(h, w, 1) float32 0..1: where the flow's map explains the frame clearly better than
    the led one (windowed mean residual lower by :data:`_MARGIN` and more) and stays
    within :attr:`reach` IOD of it. Flat skin, which any map explains, keeps the led map."""
    r_flow = _residual(gray, ref_gray, flow_map)
    r_led = _residual(gray, ref_gray, led)
    accept = np.clip((r_led - r_flow) / _MARGIN - 1.0, 0.0, 1.0)
    texture = cv2.blur(energy, (7, 7))
    accept *= texture / (texture + _DETAIL_TEXTURE)  # features (lids, lips), not flat skin
    accept = cv2.GaussianBlur(accept, (0, 0), 2.0)
    # the reach gates each pixel after the blur: a softened acceptance must not carry a far
    # flow vector (a drag) in from the pixels beside it
    gap = cv2.magnitude(*cv2.split(cv2.subtract(flow_map, led)))
    return (accept * np.clip(2.0 - gap / (lead.reach * iod), 0.0, 1.0))[..., None]


def _residual(gray: np.ndarray, ref_gray: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """(h, w) float32 windowed mean |gray - ref(corr)|, intensity 0..1."""
    warped = cv2.remap(ref_gray, corr, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.blur(cv2.absdiff(gray, warped).astype(np.float32), (7, 7)) * (1.0 / 255.0)


def openings(landmarks: np.ndarray, ref_landmarks: np.ndarray, corr_map: np.ndarray
             ) -> np.ndarray:
    """(h, w) bool: pixels inside an opening (mouth, eyes) of the current frame that the map
    sends outside the same opening on the reference: content the reference did not see.

    landmarks, ref_landmarks: (478, 2) px of the current frame and the reference (work size);
    corr_map: (h, w, 2) float32 current -> reference px.
    """
    h, w = corr_map.shape[:2]
    found = np.zeros((h, w), bool)
    polys = [list(poly) for poly in OPENINGS]
    # the current openings are drawn in their box only (grown by the slack and a pixel of
    # rounding: every pixel the erosion keeps sees its whole neighbourhood in it)
    y0, y1, x0, x1 = grown_box(landmarks[sum(polys, [])], 3.0, w, h)
    cur = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for idx in polys:
        cv2.fillPoly(cur, [np.round(landmarks[idx]).astype(np.int32) - [x0, y0]], 1)
    cur = cv2.erode(cur, _SLACK)  # two pixels of slack at the lips and lids, either side
    if not cur.any():
        return found
    ref = np.zeros((h, w), np.uint8)
    for idx in polys:
        cv2.fillPoly(ref, [np.round(ref_landmarks[idx]).astype(np.int32)], 1)
    ref = cv2.dilate(ref, _SLACK)
    seen = cv2.remap(ref, np.ascontiguousarray(corr_map[y0:y1, x0:x1]), None,
                     cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    found[y0:y1, x0:x1] = (cur > 0) & (seen == 0)
    return found
