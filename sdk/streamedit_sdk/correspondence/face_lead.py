"""Geometry first on the face: the face mesh decides where a face pixel goes.

Optical flow (or a network) matches a textureless cheek "photometrically well" with maps that
drag, tear and bend whatever is drawn on it. So inside the face the map is the landmark map
(barycentric warp over the face mesh, paper §3.1) plus a correction that is

- smooth: the flow's difference to the mesh, averaged by normalised convolution with a
  Gaussian of :attr:`FaceLead.smooth` inter-ocular distances (IOD), so a sticker moves as one
  piece;
- supported by texture: each pixel's vote is weighted by its gradient energy, so flat skin
  follows the mesh and textured skin (brows, lips, moles) aligns the mesh's jitter;
- bounded: at most :attr:`FaceLead.bound` IOD, so no flow failure can carry an edit away.

Off the face (hair, body, background, hands) the flow's map is kept; between the two the
weights blend over a feathered edge of :attr:`FaceLead.feather` IOD.

Where the mouth or an eye is open on the current frame but was closed (or less open) on the
reference, the pixels inside the opening map to no reference pixel (:func:`openings`): the
reference never saw the teeth or the iris, so no map can be right there, and the edit must
neither smear the lips over them nor hide them. The editor shows the live frame there (residual
mode adds no difference) until ARR takes a reference that sees them.
"""

from __future__ import annotations

import cv2
import numpy as np

from streamedit_sdk.config import FaceLead

IRIS_LEFT, IRIS_RIGHT = 468, 473  # iris centres of the refined face mesh
# inner contours of the openings of the MediaPipe face mesh (closed polygons)
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178,
              88, 95)
LEFT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
RIGHT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
OPENINGS = (INNER_LIPS, LEFT_EYE, RIGHT_EYE)
_SLACK = np.ones((3, 3), np.uint8)
_SMALL = 4  # the correction is estimated at 1/4 of the work size (it is smooth)
_TEXTURE = 0.02 ** 2  # gradient energy (intensity 0..1 per px, squared) of half confidence
_DETAIL_TEXTURE = 0.05 ** 2  # gradient energy of half weight for the flow's detail
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
        ref_gray: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The map the edit is carried with, (h, w, 2) float32 reference px (``lead``: its
    lengths, :class:`~streamedit_sdk.config.FaceLead`).

    flow_map: (h, w, 2) float32 the flow's (or network's) map; mesh_map: (h, w, 2) the
    landmark map it started from; gray, ref_gray: (h, w) uint8 current frame and
    reference; landmarks: (478, 2) float32 current frame px; all at work size.
    """
    h, w = gray.shape
    iod = interocular(landmarks)
    sw, sh = max(1, w // _SMALL), max(1, h // _SMALL)
    face = face_mask(landmarks, w, h).astype(np.float32)
    g = gray.astype(np.float32) * (1.0 / 255.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    energy = cv2.add(cv2.multiply(gx, gx), cv2.multiply(gy, gy))
    vote = cv2.multiply(cv2.divide(energy, energy + _TEXTURE), face)  # textured face pixels
    diff = cv2.subtract(flow_map, mesh_map)
    # the correction, estimated, smoothed and bounded at 1/4 size (OpenCV throughout: numpy's
    # reductions over the channel axis cost 6 ms a call at 512x512)
    num = cv2.resize(cv2.multiply(diff, cv2.merge([vote, vote])), (sw, sh),
                     interpolation=cv2.INTER_AREA)
    den = cv2.resize(vote, (sw, sh), interpolation=cv2.INTER_AREA)
    s = max(lead.smooth * iod / _SMALL, 0.5)
    num = cv2.GaussianBlur(num, (0, 0), s, borderType=cv2.BORDER_REFLECT_101)
    den = cv2.GaussianBlur(den, (0, 0), s, borderType=cv2.BORDER_REFLECT_101)
    corr = num / (den + 0.05)[..., None]  # little support: shrinks toward the mesh
    norm = np.sqrt(corr[..., 0] ** 2 + corr[..., 1] ** 2)
    corr *= np.minimum(1.0, lead.bound * iod / np.maximum(norm, 1e-6))[..., None]
    led = cv2.add(mesh_map, cv2.resize(corr, (w, h), interpolation=cv2.INTER_LINEAR))
    if lead.detail:
        led += _evidence(lead, flow_map, led, gray, ref_gray, energy, iod) * (flow_map - led)
    weight = _weight(lead, face, iod)
    return cv2.add(flow_map, cv2.multiply(cv2.subtract(led, flow_map),
                                          cv2.merge([weight, weight])))


def _weight(lead: FaceLead, face: np.ndarray, iod: float) -> np.ndarray:
    """(h, w) float32: 1 inside the face, falling to 0 at its outline over
    :attr:`feather` IOD (the outline itself, against hair or background, is the flow's).
    ``face``: (h, w) float32 0 or 1; ``iod`` in its px."""
    r = int(round(lead.feather * iod))
    if r >= 1:
        face = cv2.erode(face, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                         (2 * r + 1, 2 * r + 1)))
    return cv2.GaussianBlur(face, (0, 0), max(r / 2, 0.5))


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
    cur = np.zeros((h, w), np.uint8)
    ref = np.zeros((h, w), np.uint8)
    for poly in OPENINGS:
        idx = list(poly)
        cv2.fillPoly(cur, [np.round(landmarks[idx]).astype(np.int32)], 1)
        cv2.fillPoly(ref, [np.round(ref_landmarks[idx]).astype(np.int32)], 1)
    cur = cv2.erode(cur, _SLACK)  # two pixels of slack at the lips and lids, either side
    if not cur.any():
        return cur.astype(bool)
    ref = cv2.dilate(ref, _SLACK)
    seen = cv2.remap(ref, corr_map, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=0)
    return (cur > 0) & (seen == 0)
