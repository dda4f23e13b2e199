"""Face landmarks (MediaPipe face mesh) and the triangulation the landmark warp runs on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from streamedit_sdk.perception import mediapipe as _mediapipe
from streamedit_sdk.perception.geometry import delaunay, frame_anchors

log = logging.getLogger(__name__)

NUM_LANDMARKS = 478  # face mesh with refined iris points
# Named points of the MediaPipe face mesh used to place stickers and measure the face.
FACE_LEFT, FACE_RIGHT = 234, 454  # outer face contour at the ears (image left / right)
CHEEK_LEFT, CHEEK_RIGHT = 205, 425
FOREHEAD = 151
NOSE_TIP = 1


CROP_SIDE = 256  # px: a small face is meshed in a square crop of this side around it
CROP_REACH = 1.2  # half the crop's side, in face sizes (the crop spans ~2.4 of them)
MAX_FACES = 3  # faces meshed per frame by default; the largest is the one edited (then the
# same face, while it is tracked)
SAME_FACE = 0.3  # box overlap (IoU) from which a face continues the last frame's face
SETTLE_STEPS = 4  # video-mode passes over a reference image (LandmarkTracker.reference)


class LandmarkTracker:
    """MediaPipe Face Landmarker: ``track`` in video mode, ``detect`` on a single image.

    Both return ``(478, 2) float32`` landmarks in pixels (x, y) of the given frame, or ``None``
    when no face is found. Frames are RGB uint8 (H, W, 3). A face too small for the
    landmarker's own short-range detector (a full-body shot) is found with the full-range
    detector and meshed in a square crop around it; ``track`` then follows it from frame to
    frame in a crop around its last landmarks (a second video-mode landmarker: no detector and
    no failing full-frame pass per frame) until it is lost. One tracker per stream: the video
    mode keeps state between frames. Not thread-safe.

    ``full``, where given to ``track``, ``detect`` or ``reference``: the same frame at its own
    size (the source of ``rgb``, the work frame). Where it is larger, a small face's crop is
    taken from it: the landmarker sees the face's own pixels, not the work frame's (a face
    40 px wide at work size is 85 px wide in a 1080-px frame), and its landmarks move a
    third less under sub-pixel motion (s13_fullbody); they are returned in px of ``rgb``.
    A face large enough for the short-range detector is meshed on ``rgb`` (the source's
    pixels change nothing there: the landmarker sees such a face at 256 px either way).

    ``max_faces``: faces ``track`` follows (the largest is returned, then the one continuing
    the face returned on the last frame while there is one). While it follows fewer
    faces than that, MediaPipe runs its face detector on every frame to look for more; with 1
    the detector runs only when the face is lost, and a second face entering the frame is not
    looked for. ``detect`` always looks at up to :data:`MAX_FACES` faces and returns the
    largest.
    """

    def __init__(self, min_confidence: float = 0.5, max_faces: int = MAX_FACES) -> None:
        if not isinstance(max_faces, int) or max_faces < 1:
            raise ValueError(f"max_faces must be a whole number >= 1; got {max_faces!r}")
        self._confidence = min_confidence
        self._max_faces = max_faces
        self._video = self._video_mesh()
        self._crop_video = self._video_mesh()
        self._small: np.ndarray | None = None  # last landmarks of a face followed in a crop
        self._last: np.ndarray | None = None  # last landmarks of the face followed full-frame
        self._still = _mediapipe.Faces(video=False, num_faces=MAX_FACES,
                                       confidence=min_confidence)
        self._far = _mediapipe.FarFaces(confidence=min_confidence)

    def track(self, rgb: np.ndarray, full: np.ndarray | None = None) -> np.ndarray | None:
        """Landmarks of the next frame of a stream (uses the previous frames)."""
        if self._small is not None:
            self._small = self._in_crop(self._crop_video, rgb, _box_around(self._small), full)
            if self._small is not None:
                return self._small
            self._new_crop_track()  # lost: the next small face starts a fresh track
        self._last = self._run(self._video, rgb, self._last)
        if self._last is not None:
            return self._last
        self._small = self._small_face(rgb, full)
        return self._small

    def detect(self, rgb: np.ndarray, full: np.ndarray | None = None) -> np.ndarray | None:
        """Landmarks of one image, independent of the stream (for references)."""
        pts = self._run(self._still, rgb)
        return pts if pts is not None else self._small_face(rgb, full)

    def reference(self, rgb: np.ndarray, full: np.ndarray | None = None) -> np.ndarray | None:
        """Landmarks of a reference image as a stream's ``track`` measures the same face.

        The face mesh places the points of a face found afresh (``detect``) differently from
        the same face followed in video mode, where each frame's crop comes from the last
        frame's points: on an unchanged image the tracked points settle up to a few px away
        from the detected ones within a few frames. Every frame of a stream is tracked, so a
        reference measured by ``detect`` would move an edit on a still face by that much. This
        tracks the image on its own :data:`SETTLE_STEPS` times in a fresh video-mode
        landmarker and returns the settled points; ``detect``'s when the video mode finds no
        face (a small face)."""
        found = self._run(self._still, rgb)
        if found is None:
            return self._small_face(rgb, full)  # followed in a crop: as detected
        mesh = self._video_mesh()
        try:
            for _ in range(SETTLE_STEPS):
                pts = self._run(mesh, rgb)
                if pts is None:
                    return found
        finally:
            mesh.close()
        return pts

    def reset(self) -> None:
        """Forget the tracked face (next ``track`` detects afresh)."""
        self._video.close()
        self._video = self._video_mesh()
        self._last = None
        self._new_crop_track()

    def _new_crop_track(self) -> None:
        self._crop_video.close()
        self._crop_video = self._video_mesh()
        self._small = None

    def _video_mesh(self) -> "_mediapipe.Faces":
        return _mediapipe.Faces(video=True, num_faces=self._max_faces,
                                confidence=self._confidence)

    def close(self) -> None:
        for graph in (self._video, self._crop_video, self._still, self._far):
            graph.close()

    @staticmethod
    def _run(mesh, rgb: np.ndarray, near: np.ndarray | None = None):
        """The face ``mesh`` finds on ``rgb``: of several, the one continuing ``near`` (the
        last frame's landmarks: their boxes overlap by :data:`SAME_FACE` or more), else the
        largest. (Sticking to the face being edited: on a panning shot a false face in the
        background grew larger than the real one and took the edit with it.)"""
        faces = [f for f in mesh.find(rgb) if len(f) == NUM_LANDMARKS]
        if not faces:
            return None
        if near is not None and len(faces) > 1:
            overlap = [_box_iou(f, near) for f in faces]
            if max(overlap) >= SAME_FACE:
                return faces[int(np.argmax(overlap))]
        return max(faces, key=lambda f: float(np.prod(np.ptp(f, axis=0))))  # the largest

    def _small_face(self, rgb: np.ndarray, full: np.ndarray | None) -> np.ndarray | None:
        boxes = self._far.boxes(rgb)
        if not boxes:
            return None
        return self._in_crop(self._still, rgb, boxes[0], full)

    def _in_crop(self, mesh, rgb: np.ndarray, box: tuple[float, float, float],
                 full: np.ndarray | None = None) -> np.ndarray | None:
        """Mesh a face of size ``box[2]`` px centred at ``box[:2]`` (px of ``rgb``) in a square
        crop around it (~2.4 face sizes, :data:`CROP_SIDE` px, zero outside the frame), taken
        from ``full`` when given (the same frame, larger); px of ``rgb`` out.

        Landmark px are the landmarker's (normalised x width: the frame's left edge is 0, a
        pixel's centre at +0.5), so a resize scales them and the crop, which ``warpAffine``
        maps between pixel centres, is undone with its half-pixel terms."""
        if not (np.isfinite(box[2]) and box[2] * CROP_REACH >= 4):
            return None
        source, up = rgb, np.ones(2, np.float32)  # source px per rgb px, x and y (a work
        # size is rounded per side: 720x1080 -> 341x512 scales x by 2.111, y by 2.109)
        if full is not None and full.shape[1] > rgb.shape[1]:
            source = full
            up = np.array([full.shape[1] / rgb.shape[1], full.shape[0] / rgb.shape[0]],
                          np.float32)
        cx, cy = float(box[0] * up[0]), float(box[1] * up[1])
        half = float(box[2] * up.mean()) * CROP_REACH
        s = CROP_SIDE / (2 * half)  # crop px per source px
        x0, y0 = cx - half, cy - half
        to_crop = np.array([[s, 0, -s * x0], [0, s, -s * y0]], np.float32)
        crop = cv2.warpAffine(source, to_crop, (CROP_SIDE, CROP_SIDE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        pts = self._run(mesh, crop)
        if pts is None:
            return None
        centres = 0.5 - 0.5 / s  # (pixel centres: crop index = s * source index - s * x0)
        return (pts / s + np.array([x0 + centres, y0 + centres], np.float32)) / up

    def __enter__(self) -> "LandmarkTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class WarpMesh:
    """Triangulation of the reference landmarks plus fixed anchors on the frame border.

    ``points_ref``: (478 + A, 2) float32 px of the reference; ``triangles``: (T, 3) int32.
    The anchors make the landmark map defined over the whole frame (background assumed still);
    the triangles come from a Delaunay triangulation of the reference and are reused for every
    frame, so a pixel maps through the triangle it falls in on the current frame.
    """

    points_ref: np.ndarray
    triangles: np.ndarray
    anchors: np.ndarray

    @classmethod
    def build(cls, landmarks_ref: np.ndarray, width: int, height: int) -> "WarpMesh":
        anchors = frame_anchors(width, height, per_side=4)
        points = np.concatenate([landmarks_ref.astype(np.float32), anchors])
        return cls(points, delaunay(points), anchors)

    def current_points(self, landmarks_cur: np.ndarray) -> np.ndarray:
        return np.concatenate([landmarks_cur.astype(np.float32), self.anchors])


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of the bounding boxes of two landmark sets (px)."""
    lo, hi = np.maximum(a.min(0), b.min(0)), np.minimum(a.max(0), b.max(0))
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    union = float(np.prod(np.ptp(a, axis=0)) + np.prod(np.ptp(b, axis=0))) - inter
    return inter / union if union > 0 else 0.0


def _box_around(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(centre x, centre y, size) px of the landmarks' bounding box, size its longer side."""
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    centre = (lo + hi) / 2
    return float(centre[0]), float(centre[1]), float(max(hi - lo))


def face_hull_mask(landmarks: np.ndarray, width: int, height: int,
                   grow: float = 0.15) -> np.ndarray:
    """(H, W) bool: convex hull of the landmarks, grown by ``grow`` of the face width."""
    mask = np.zeros((height, width), np.uint8)
    hull = cv2.convexHull(np.round(landmarks).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    k = int(face_width(landmarks) * grow) * 2 + 1
    if k > 1:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return mask.astype(bool)


def face_width(landmarks: np.ndarray) -> float:
    """Distance between the two ends of the face contour, px."""
    return float(np.linalg.norm(landmarks[FACE_RIGHT] - landmarks[FACE_LEFT]))
