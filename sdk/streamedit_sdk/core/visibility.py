"""Visibility: does the current frame show the face surface of the user's edited frame?

The face mesh leads the edit on the face, and MediaPipe predicts the mesh straight through a
hand. So per pixel of the face, on every frame with a face, this decides whether the camera
sees the surface the user edited (visible) or something else: an occluder in front of it (a
hand, an object, hair), the surface turned away (self-occlusion), or no face at all there (a
mesh placed on something that is not the face). The edit obeys it: where the surface is not
visible, the output shows the live frame (the sticker goes behind the hand, the hand stays in
the picture). This is the paper's uncertainty where it matters most (PPCE sigma, §3.1); the
correspondence's own sigma keeps deciding off the face.

Signals (all on the host, at work size, in the face's box only), against the reference
(a frame that showed the face: the user's, or one ARR took while nothing hid it) sampled
through the edit's face-led map (where the surface would be if it were visible):

* ``network`` (the default, :class:`OcclusionNet`): a small U-Net over the face's box,
  trained on occluders composited over real clips with exact masks (a finger in the
  person's own skin, a hand, a dark object, hair) against expression, pose and light
  changes (``streamedit train-visibility``); it tells skin on skin apart where colour
  cannot, and calls a raised brow or a squint visible.
* ``residual``: local structure and colour against the reference, in grey levels. An
  occluder is a region that differs strongly over bare skin somewhere and moderately around
  that (hysteresis), refined to the pixels whose own colour differs, not tiny.
* ``fold``: mesh triangles turned over or squashed against the reference: the surface
  faces away (a turning head), whatever the pixels say.

:class:`VisibilityJudge` runs the configured ones and gives a :class:`FaceView`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.config import Visibility
from streamedit_sdk.correspondence.face_lead import (INNER_LIPS, LEFT_EYE, RIGHT_EYE, face_mask,
                                                     grown_box, interocular, openings)
from streamedit_sdk.errors import ModelFileError
from streamedit_sdk.kernels import grid_sample
from streamedit_sdk.maps import OFF_REFERENCE, off_reference
from streamedit_sdk.perception.landmarks import NUM_LANDMARKS, WarpMesh


LEFT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
RIGHT_BROW = (336, 296, 334, 293, 300, 276, 283, 282, 295, 285)
OUTER_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37,
              39, 40, 185)
FEATURES = (LEFT_EYE, RIGHT_EYE, OUTER_LIPS)  # landmark polygons of the moving features
BROWS = (LEFT_BROW, RIGHT_BROW)
FEATURE_REACH = 0.1  # IOD around the features (and inside the outline) where no occluder
# is seeded
BROW_REACH = 0.3  # IOD around the brows: a brow raised high leaves its landmarks that far
_FEATURE_POINTS = np.array(sorted(set(sum((list(f) for f in (*FEATURES, *BROWS, INNER_LIPS)),
                                          []))), np.int64)


@dataclass(frozen=True)
class FaceView:
    """The face's visibility on one frame, host, at work size.

    visible: (h, w) float32 0..1, 1 where the frame shows the user's face surface (and
        everywhere off the face, which this does not judge), 0 where something hides it.
    box: (y0, y1, x0, x1) the region where ``visible`` may be below 1.
    hidden_share: share of the face (inside its outline) that is hidden, 0..1.
    """

    visible: np.ndarray
    box: tuple[int, int, int, int]
    hidden_share: float


class OcclusionNet:
    """The visibility network (``models/visibility/``: ONNX, its SHA-256 checked at load)
    in an onnxruntime session on one CPU thread: about 0.9 ms a face."""

    def __init__(self, folder: str | Path | None = None) -> None:
        folder = Path(folder) if folder is not None else shipped_visibility_dir()
        meta_path = folder / "model.json"
        if not meta_path.is_file():
            raise ModelFileError(f"no visibility network at {folder} (model.json missing): "
                                 "reinstall streamedit-sdk, or train one with streamedit "
                                 "train-visibility")
        meta = json.loads(meta_path.read_text())
        path = folder / meta["net"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        if digest != meta["sha256"][meta["net"]]:
            raise ModelFileError(f"{path} is missing or not the file its model.json names "
                                 "(sha256 differs): reinstall streamedit-sdk")
        if int(meta["side"]) != NET_SIDE:
            raise ModelFileError(f"{path} takes {meta['side']} px faces; this SDK gives "
                                 f"{NET_SIDE}: retrain it with this version")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), opts,
                                             providers=["CPUExecutionProvider"])

    def hidden(self, frame: np.ndarray, ref: np.ndarray, at: np.ndarray, face: np.ndarray
               ) -> np.ndarray:
        """(S, S) float32 0..1, S = :data:`NET_SIDE`: the probability that each cell of the
        face's box ``frame``, resized to S x S, is hidden (arguments: :func:`net_input`)."""
        logits = self._session.run(None, {"x": net_input(frame, ref, at, face)})[0][0, 0]
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)


def shipped_visibility_dir() -> Path:
    """The visibility network shipped in the package."""
    return Path(__file__).resolve().parents[1] / "models" / "visibility"


class VisibilityJudge:
    """One stream's visibility: :attr:`EditorConfig.visibility` with its network loaded once
    (when it uses one). Not thread-safe (one per editor)."""

    def __init__(self, cfg: Visibility) -> None:
        self.cfg = cfg
        self._net = OcclusionNet(cfg.model_dir) if cfg.occluders == "network" else None

    def view(self, ref_work: np.ndarray, ref_mesh: WarpMesh, work: np.ndarray,
             landmarks: np.ndarray, face_map: np.ndarray) -> FaceView:
        """:func:`face_view` with this judge's signals."""
        return face_view(self.cfg, ref_work, ref_mesh, work, landmarks, face_map, self._net)


def face_view(cfg: Visibility, ref_work: np.ndarray, ref_mesh: WarpMesh,
              work: np.ndarray, landmarks: np.ndarray, face_map: np.ndarray,
              net: OcclusionNet | None = None) -> FaceView:
    """The visibility of the face with ``landmarks`` ((478, 2) work px) on ``work`` ((h, w, 3)
    uint8), against the reference ``ref_work`` ((h, w, 3) uint8 work size, a frame that
    showed the face: the user's, or one taken while nothing hid it) and its ``ref_mesh``.
    ``face_map``: (h, w, 2) float32 the face mesh's map of the frame into the reference
    (reference work px, the landmark warp): where the face's surface would be if nothing hid
    it. Not a map refined by flow, which follows an occluder (a finger's pixels matched to
    the reference's lips look like the reference there)."""
    h, w = work.shape[:2]
    iod = interocular(landmarks)
    y0, y1, x0, x1 = grown_box(landmarks, cfg.margin * iod, w, h)
    local = landmarks[:NUM_LANDMARKS] - np.float32([x0, y0])
    face = face_mask(local, x1 - x0, y1 - y0).astype(bool)
    hidden = np.zeros((y1 - y0, x1 - x0), bool)
    if cfg.occluders != "none":
        at = mesh_seen(face_map[y0:y1, x0:x1], local, ref_mesh.points_ref)
        crop = np.ascontiguousarray(work[y0:y1, x0:x1])
        if net is not None:
            hidden |= _net_hidden(cfg, net.hidden(crop, ref_work, at, face), face, iod)
        else:
            hidden |= _occluders(cfg, crop, ref_work, at, face, local, iod) & face
    if cfg.fold and ref_mesh is not None:
        hidden |= _folded(cfg, ref_mesh, landmarks, (x0, y0), (x1 - x0, y1 - y0)) & face
    visible = np.ones((h, w), np.float32)
    soft = 1.0 - hidden.astype(np.float32)
    if cfg.edge_px > 0:
        soft = cv2.GaussianBlur(soft, (0, 0), cfg.edge_px)
        soft[hidden] = np.minimum(soft[hidden], 0.5)  # (hidden stays hidden at its edge)
    visible[y0:y1, x0:x1] = soft
    share = float(np.count_nonzero(hidden)) / max(int(np.count_nonzero(face)), 1)
    return FaceView(visible, (y0, y1, x0, x1), share)


NET_SIDE = 64  # px: the face's box is resized to this square for the visibility network


def mesh_seen(at: np.ndarray, landmarks: np.ndarray, ref_landmarks: np.ndarray) -> np.ndarray:
    """The face mesh's map of a box of the frame, ``at`` ((h, w, 2) float32 reference px),
    with the openings (mouth, eyes) the reference did not see sent off it: there the frame
    shows new surface, not an occluder. ``landmarks``: the frame's, box px; ``ref_landmarks``:
    the reference's, reference px. A copy; what the network is given, in training too."""
    at = np.array(at, np.float32)
    at[openings(landmarks, ref_landmarks[:NUM_LANDMARKS], at)] = OFF_REFERENCE
    return at


def net_input(frame: np.ndarray, ref: np.ndarray, at: np.ndarray, face: np.ndarray
              ) -> np.ndarray:
    """The visibility network's input, (1, 7, S, S) float32, S = :data:`NET_SIDE`: the
    frame's face box ``frame`` ((h, w, 3) uint8), the reference ``ref`` ((H, W, 3) uint8)
    sampled there through the face-led map ``at`` ((h, w, 2) float32 reference px; the
    frame's own pixel where it is off the reference), both as 0..1 less 0.5, and the face's
    mask ``face`` ((h, w) bool or 0/1). The reference is sampled on a 2S grid and averaged
    down (a box of 400 px costs a sixth of sampling it whole)."""
    size, fine = (NET_SIDE, NET_SIDE), (2 * NET_SIDE, 2 * NET_SIDE)
    a = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    where = cv2.resize(at, fine, interpolation=cv2.INTER_NEAREST)
    own = cv2.resize(frame, fine, interpolation=cv2.INTER_LINEAR)  # (openings only)
    seen = grid_sample(ref, where, fallback=own, border="replicate")
    b = cv2.resize(seen, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    m = cv2.resize(np.asarray(face, np.uint8) * np.uint8(255), size,
                   interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    x = np.concatenate([a / 255.0 - 0.5, b / 255.0 - 0.5, m[..., None]], axis=2)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def residual(frame: np.ndarray, seen: np.ndarray, iod: float) -> np.ndarray:
    """(h, w) float32 grey levels: how ``frame`` differs from ``seen`` (the user's frame
    sampled where the face would be), both (h, w, 3) uint8: the local structure (each minus
    its mean over 0.25 IOD) plus half the local colour (the means), averaged over 0.05 IOD."""
    k = max(3, int(0.25 * iod) | 1)
    a, b = frame.astype(np.float32), seen.astype(np.float32)
    ma, mb = cv2.blur(a, (k, k)), cv2.blur(b, (k, k))
    d = np.abs((a - ma) - (b - mb)).mean(axis=2) + 0.5 * np.abs(ma - mb).mean(axis=2)
    r = max(3, int(0.05 * iod) | 1)
    return cv2.blur(d, (r, r))


def _occluders(cfg: Visibility, frame: np.ndarray, ref_work: np.ndarray, at: np.ndarray,
               face: np.ndarray, landmarks_local: np.ndarray, iod: float) -> np.ndarray:
    """(h, w) bool in the box: regions that are not the user's face surface, by their
    residual against it (see the module docstring). An occluder must differ strongly over
    bare skin somewhere: brows, eyes and lips move further than the mesh follows them (a
    brow raised high), and the face's outline slides over the background, so what differs
    there alone is the face moving, not something in front of it."""
    valid = ~off_reference(at)
    if not valid.any():
        return np.zeros(face.shape, bool)
    seen = grid_sample(ref_work, at, fallback=frame, border="replicate")
    r = residual(frame, seen, iod)
    r[~valid] = 0.0  # openings the user's frame never saw are new surface, not occluders
    strong = (r >= cfg.residual_high) & _skin(face, landmarks_local, iod)
    if not strong.any():
        return np.zeros(face.shape, bool)
    weak = (r >= cfg.residual_low).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    seeded = np.zeros(n, bool)
    seeded[np.unique(labels[strong])] = True
    seeded[0] = False
    big = stats[:, cv2.CC_STAT_AREA] >= cfg.min_area * iod * iod
    keep = seeded & big
    if not keep.any():
        return np.zeros(face.shape, bool)
    coarse = keep[labels].astype(np.uint8)
    return _refine(cfg, frame, seen, coarse, face & valid, iod)


JUDGED_REACH = 0.25  # IOD past the face's outline where visibility is judged (a sticker
# overhanging a cheek: the hand covering it covers its overhang too)


def judged_region(face: np.ndarray, iod: float) -> np.ndarray:
    """(h, w) bool: the face (``face``: its mask, bool or 0/1) grown by
    :data:`JUDGED_REACH` IOD, where the network judges visibility."""
    outside = (np.asarray(face) == 0).astype(np.uint8)
    if not outside.all():
        return cv2.distanceTransform(outside, cv2.DIST_L2, 3) <= JUDGED_REACH * iod
    return np.zeros(outside.shape, bool)


def _net_hidden(cfg: Visibility, prob: np.ndarray, face: np.ndarray, iod: float
                ) -> np.ndarray:
    """(h, w) bool, the box's size: the network's hidden regions. ``prob``: (S, S) its
    probabilities over the box; ``face``: (h, w) the face's mask in the box. Regions are
    judged on the S x S grid (inside :func:`judged_region`, at least ``cfg.min_area``, grown
    by ``cfg.grow``), their edge placed in the box by the probability scaled up."""
    h, w = face.shape
    side = prob.shape[0]
    sx, sy = side / w, side / h
    small_face = cv2.resize(face.astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST)
    judged = judged_region(small_face, iod * (sx * sy) ** 0.5)
    found = _large(((prob >= cfg.hidden_above) & judged).astype(np.uint8),
                   cfg.min_area * iod * iod * sx * sy)
    if not found.any():
        return np.zeros((h, w), bool)
    keep = cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8))
    if cfg.grow > 0:
        k = max(3, int(2 * cfg.grow * iod * (sx * sy) ** 0.5) | 1)
        keep = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        prob = np.where(found, 1.0, cv2.dilate(prob, cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (k, k)))).astype(np.float32)
    near = (prob * (keep & judged)).astype(np.float32)
    return cv2.resize(near, (w, h), interpolation=cv2.INTER_LINEAR) >= cfg.hidden_above


def _skin(face: np.ndarray, landmarks: np.ndarray, iod: float) -> np.ndarray:
    """(h, w) bool: the face less its moving features (brows, eyes, lips, grown by
    :data:`FEATURE_REACH` IOD) and less a band of that width inside its outline."""
    reach = max(3, int(FEATURE_REACH * iod) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))
    inner = cv2.erode(face.astype(np.uint8), kernel)
    features = np.zeros(face.shape, np.uint8)
    for polygons, grow in ((FEATURES, reach), (BROWS, max(3, int(BROW_REACH * iod) | 1))):
        drawn = np.zeros(face.shape, np.uint8)
        cv2.fillPoly(drawn, [np.round(landmarks[list(f)] * 16).astype(np.int32)
                             for f in polygons], 1, cv2.LINE_8, 4)
        features |= cv2.dilate(drawn, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                                (grow, grow)))
    return (inner > 0) & (features == 0)


def _refine(cfg: Visibility, frame: np.ndarray, seen: np.ndarray, coarse: np.ndarray,
            face: np.ndarray, iod: float) -> np.ndarray:
    """The occluders' exact extent: inside ``coarse`` (the regions found, grown by the
    structure window's reach), the pixels whose own colour differs from the user's frame
    (after the face's overall change of light), plus the holes they enclose that differ at
    least half as much (a finger's flat middle; not the skin between strands of hair)."""
    reach = max(3, int(0.15 * iod) | 1)
    near = cv2.dilate(coarse, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    a, b = frame.astype(np.float32), seen.astype(np.float32)
    lit = face & (near == 0)
    if np.count_nonzero(lit) > 64:  # the light's change, from the face that is not covered
        gain = np.median(a[lit] + 1.0, axis=0) / np.median(b[lit] + 1.0, axis=0)
        b = b * np.clip(gain, 0.5, 2.0)
    fine = cv2.blur(np.abs(a - b).mean(axis=2), (3, 3))
    mask = ((fine >= cfg.residual_low) & (near > 0)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    holes = _holes(mask)
    if holes.any():
        n, labels = cv2.connectedComponents(holes, connectivity=4)
        mean = np.bincount(labels.ravel(), weights=fine.ravel(), minlength=n) / np.maximum(
            np.bincount(labels.ravel(), minlength=n), 1)
        fill = mean >= 0.5 * cfg.residual_low
        fill[0] = False
        mask |= fill[labels].astype(np.uint8)
    return _large(mask, 0.25 * cfg.min_area * iod * iod)


def _large(mask: np.ndarray, area: float) -> np.ndarray:
    """(bool) the pieces of ``mask`` (uint8 0/1) of ``area`` px or more."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return mask.astype(bool)
    keep = stats[:, cv2.CC_STAT_AREA] >= area
    keep[0] = False
    return keep[labels]


def _holes(mask: np.ndarray) -> np.ndarray:
    """(uint8 0/1) the regions ``mask`` (uint8 0/1) encloses."""
    h, w = mask.shape
    flood = np.zeros((h + 2, w + 2), np.uint8)
    flood[1:-1, 1:-1] = mask
    cv2.floodFill(flood, None, (0, 0), 2)
    return (flood[1:-1, 1:-1] == 0).astype(np.uint8)


def _folded(cfg: Visibility, mesh: WarpMesh, landmarks: np.ndarray, at: tuple[int, int],
            size: tuple[int, int]) -> np.ndarray:
    """(h, w) bool in the box: the face's triangles turned over against the user's frame, or
    squashed to under ``cfg.fold_area`` of their area there (relative to the face's scale):
    surface facing away. Triangles on the eyes, lips and brows are left out: lids and lips
    close over each other without the face turning."""
    tri = mesh.triangles
    surface = (tri < NUM_LANDMARKS).all(axis=1) & ~np.isin(tri, _FEATURE_POINTS).any(axis=1)
    face_tris = tri[surface]
    if len(face_tris) == 0:
        return np.zeros(size[::-1], bool)
    ref = mesh.points_ref[:NUM_LANDMARKS].astype(np.float64)
    cur = landmarks[:NUM_LANDMARKS].astype(np.float64)
    scale = (interocular(landmarks) / max(interocular(mesh.points_ref[:NUM_LANDMARKS]), 1e-6)
             ) ** 2
    a_ref = _signed_area(ref[face_tris])
    a_cur = _signed_area(cur[face_tris])
    turned = (np.sign(a_cur) != np.sign(a_ref)) | (
        np.abs(a_cur) < cfg.fold_area * np.abs(a_ref) * scale)
    turned &= np.abs(a_ref) > 1e-3
    mask = np.zeros(size[::-1], np.uint8)
    if turned.any():
        pts = np.round((cur[face_tris[turned]] - np.float64(at)) * 16).astype(np.int32)
        cv2.fillPoly(mask, list(pts), 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def _signed_area(t: np.ndarray) -> np.ndarray:
    """Signed areas of triangles (T, 3, 2)."""
    (ax, ay), (bx, by), (cx, cy) = t[:, 0].T, t[:, 1].T, t[:, 2].T
    return 0.5 * ((bx - ax) * (cy - ay) - (cx - ax) * (by - ay))
