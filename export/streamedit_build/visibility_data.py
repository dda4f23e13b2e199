"""Training samples for the visibility network: a frame's face box with an occluder
composited over it (exact mask), the reference frame sampled there through the face mesh,
the face's mask. Labels come from compositing only, never from a photometric teacher.

A sample pairs a frame ``t`` with a reference ``r`` of the same clip (up to ``max_gap``
frames apart, or the frame itself): the face's expression, pose and light differ between
them, which the network must learn to call visible, while an occluder (a finger in the
person's own skin, a hand, a dark object, hair; placed anywhere on the face, any size and
angle) is hidden surface. Roughly ``occluded`` of the samples carry one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from streamedit_sdk.apps.eval.occluders import KINDS, composite, make_occluder, placement
from streamedit_sdk.core.visibility import NET_SIDE, judged_region, mesh_seen, net_input
from streamedit_sdk.correspondence.face_lead import (face_mask, grown_box, interocular,
                                                     pixel_grid)
from streamedit_sdk.perception.landmarks import NUM_LANDMARKS, WarpMesh
from streamedit_sdk.sides.host import HostOps

from .data import ClipFrames

HOST = HostOps()
MARGIN = 0.3  # IOD: the face's box grown by this (the runtime's Visibility.margin)
TARGETS = (205, 425, 151, 152, 1, 13, 33, 263, 234, 454)  # where occluders are aimed: cheeks,
# forehead, chin, nose, mouth, eyes, the face's sides


@dataclass(frozen=True)
class Batch:
    """Samples stacked: x (N, 7, S, S) float32; y (N, 1, S, S) 0/1 hidden; w (N, 1, S, S)
    loss weights (the face and a margin around it)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray


def box_map(ref_landmarks: np.ndarray, landmarks: np.ndarray, box: tuple[int, int, int, int],
            size: tuple[int, int]) -> np.ndarray:
    """The face mesh's map of the box ``(y0, y1, x0, x1)`` of a frame with ``landmarks`` into
    a reference with ``ref_landmarks`` (both (478, 2) px of frames of ``size`` (w, h)),
    openings the reference did not see off it: what the runtime's edit map is on the face."""
    w, h = size
    y0, y1, x0, x1 = box
    mesh = WarpMesh.build(ref_landmarks, w, h)
    at = np.float32([x0, y0])
    grid = pixel_grid(h, w)[y0:y1, x0:x1]
    out = HOST.landmark_map(mesh.current_points(landmarks) - at, mesh.points_ref,
                            mesh.triangles, y1 - y0, x1 - x0, np.ascontiguousarray(grid))
    return mesh_seen(out, landmarks - at, ref_landmarks)


def sample(clip: ClipFrames, rng: np.random.Generator, occluded: float = 0.6,
           max_gap: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """One (x (7, S, S), y (S, S), w (S, S)) from ``clip``, or None when the frames drawn have
    no face."""
    faces = np.flatnonzero(~np.isnan(clip.landmarks).any(axis=(1, 2)))
    if len(faces) == 0:
        return None
    t = int(rng.choice(faces))
    near = faces[np.abs(faces - t) <= max_gap]
    r = t if rng.random() < 0.15 else int(rng.choice(near))
    cur, ref = clip.frames[t], clip.frames[r]
    lm_t, lm_r = clip.landmarks[t], clip.landmarks[r]
    h, w = cur.shape[:2]
    mask = np.zeros((h, w), bool)
    if rng.random() < occluded:
        kind = KINDS[int(rng.integers(len(KINDS)))]
        occluder = make_occluder(kind, ref, lm_r, rng)
        target = int(TARGETS[int(rng.integers(len(TARGETS)))])
        affine = placement(occluder, lm_t, tuple(rng.uniform(-0.7, 0.7, 2)), target,
                           scale=rng.uniform(0.6, 1.4), turn=rng.uniform(-0.8, 0.8))
        cur, mask = composite(cur, occluder, affine)
        if rng.random() < 0.3:  # motion blur of a moving hand
            k = int(rng.integers(3, 9))
            kernel = np.zeros((k, k), np.float32)
            kernel[k // 2] = 1.0 / k
            blurred = cv2.filter2D(cur, -1, cv2.warpAffine(
                kernel, cv2.getRotationMatrix2D((k / 2, k / 2), rng.uniform(0, 180), 1), (k, k)))
            cur = np.where(cv2.dilate(mask.astype(np.uint8), np.ones((k, k)))[..., None] > 0,
                           blurred, cur)
    cur = _light(cur, rng)
    iod = interocular(lm_t)
    box = grown_box(lm_t, MARGIN * iod, w, h)
    y0, y1, x0, x1 = box
    at = box_map(lm_r, lm_t, box, (w, h))
    crop = np.ascontiguousarray(cur[y0:y1, x0:x1])
    face = face_mask(lm_t[:NUM_LANDMARKS] - np.float32([x0, y0]), x1 - x0, y1 - y0)
    x = net_input(crop, ref, at, face)[0]
    size = (NET_SIDE, NET_SIDE)
    judged = judged_region(face, iod)  # where the runtime asks: the face and a rim round it
    y = cv2.resize((mask[y0:y1, x0:x1] & judged).astype(np.float32), size,
                   interpolation=cv2.INTER_AREA)
    weight = cv2.resize(judged.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return x, (y >= 0.5).astype(np.float32), weight


def _light(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A change of light and camera between the reference and the frame: gain, offset and a
    little colour cast."""
    gain = rng.uniform(0.85, 1.15) * rng.uniform(0.96, 1.04, 3)
    out = frame.astype(np.float32) * gain + rng.uniform(-12, 12)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def batch_of(clips: list[ClipFrames], n: int, rng: np.random.Generator,
             occluded: float = 0.6, progress=None) -> Batch:
    """``n`` samples from ``clips`` (each drawn from a clip chosen at random); ``progress(1)``
    is called per sample made."""
    xs, ys, ws = [], [], []
    while len(xs) < n:
        got = sample(clips[int(rng.integers(len(clips)))], rng, occluded)
        if got is None:
            continue
        x, y, w = got
        xs.append(x)
        ys.append(y[None])
        ws.append(w[None])
        if progress is not None:
            progress(1)
    return Batch(np.stack(xs), np.stack(ys), np.stack(ws))
