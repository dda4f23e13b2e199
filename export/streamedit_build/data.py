"""Training data: decoded clip frames with their landmarks (cached), and frame pairs.

A pair is (current, reference) with everything the runtime would have for it: the initial map
current -> reference (landmark warp refined by DIS and Lucas-Kanade, exactly the runtime's
weight-free estimator, :class:`streamedit_sdk.correspondence.FlowCorrespondence`), the face mask
and the target map. Synthetic pairs (here) warp a real frame by a known smooth field; real pairs
get the teacher's map as target (:mod:`.teacher`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk import kernels
from streamedit_sdk.core.ops import landmark_map
from streamedit_sdk.correspondence.flow import FlowCorrespondence
from streamedit_sdk.frames import to_work
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.maps import identity_map
from streamedit_sdk.perception.landmarks import (NUM_LANDMARKS, LandmarkTracker, WarpMesh,
                                                 face_hull_mask)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipFrames:
    """One clip at work size. frames: (N, h, w, 3) uint8 RGB; landmarks: (N, 478, 2) float32
    work px, NaN where no face was found."""

    name: str
    frames: np.ndarray
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def face(self, i: int) -> np.ndarray | None:
        lm = self.landmarks[i]
        return None if np.isnan(lm).any() else lm


def load_clip(path: str | Path, side: int, cache_dir: Path, track_side: int = 512,
              max_frames: int | None = None, progress=None) -> ClipFrames:
    """Decode ``path`` at longest side ``side`` with landmarks tracked as the runtime tracks
    them (at ``track_side``, its default work size, then scaled), cached under ``cache_dir``.

    The cache key holds the file's name, size and modification time and both sides, so an
    edited clip is decoded again. ``progress``: callable(n) advanced per decoded frame.
    """
    path = Path(path)
    st = path.stat()
    key = hashlib.sha1(f"{path.name}:{st.st_size}:{st.st_mtime_ns}:{side}:{track_side}:{max_frames}"
                       .encode()).hexdigest()[:12]
    cached = cache_dir / f"{path.stem}-{side}-{key}.npz"
    if cached.exists():
        with np.load(cached) as z:
            return ClipFrames(path.stem, z["frames"], z["landmarks"])
    frames, marks = [], []
    with LandmarkTracker() as tracker:
        for i, frame in enumerate(VideoReader(path)):
            if max_frames is not None and i >= max_frames:
                break
            tracked = to_work(frame, track_side)
            lm = tracker.track(tracked)
            small = to_work(tracked, side)
            frames.append(small)
            if lm is None:
                marks.append(np.full((NUM_LANDMARKS, 2), np.nan, np.float32))
            else:  # pixel centres aligned, as resize_map does
                sx = small.shape[1] / tracked.shape[1]
                sy = small.shape[0] / tracked.shape[0]
                marks.append(((lm + 0.5) * (sx, sy) - 0.5).astype(np.float32))
            if progress is not None:
                progress(1)
    clip = ClipFrames(path.stem, np.stack(frames), np.stack(marks).astype(np.float32))
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npz")
    np.savez(tmp, frames=clip.frames, landmarks=clip.landmarks)
    tmp.replace(cached)
    return clip


@dataclass(frozen=True)
class Pair:
    """Inputs and targets for one training sample, all at the same (h, w).

    cur, ref: (h, w, 3) uint8; init_map: (h, w, 2) float32 ref px; face: (h, w) float32 0/1;
    true_map: (h, w, 2) float32 ref px: the known map (synthetic) or the teacher's (real).
    """

    cur: np.ndarray
    ref: np.ndarray
    init_map: np.ndarray
    face: np.ndarray
    true_map: np.ndarray


class PairMaker:
    """Builds pairs with the runtime's initial map (landmarks, DIS at ``preset``, then
    ``lk`` Lucas-Kanade steps)."""

    def __init__(self, preset: str = "fast", lk: int = 0) -> None:
        self._flow = FlowCorrespondence(preset, lk_iterations=lk)

    def initial(self, cur: np.ndarray, ref: np.ndarray, lm_cur: np.ndarray | None,
                lm_ref: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(init_map (h, w, 2) ref px, face (h, w) float32) as the runtime computes them."""
        h, w = cur.shape[:2]
        grid = identity_map(h, w)
        face = np.zeros((h, w), np.float32)
        init = grid
        if lm_cur is not None and lm_ref is not None:
            mesh = WarpMesh.build(lm_ref, w, h)
            init = landmark_map(mesh, lm_cur, h, w, grid)
            face = face_hull_mask(lm_cur, w, h).astype(np.float32)
        gray = cv2.cvtColor(cur, cv2.COLOR_RGB2GRAY)
        return self._flow.refine(gray, cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY), init), face

    def synthetic(self, clip: ClipFrames, i: int, rng: np.random.Generator) -> Pair:
        """A frame and itself warped by a known smooth field (plus a landmark-driven warp of the
        face, when it has one): cur(x) = ref(true_map(x))."""
        ref = clip.frames[i]
        h, w = ref.shape[:2]
        true = identity_map(h, w) + random_smooth_flow(h, w, rng)
        lm_ref = clip.face(i)
        lm_cur = None
        if lm_ref is not None and rng.random() < 0.7:
            lm_cur = _jitter_landmarks(lm_ref, rng)
            mesh = WarpMesh.build(lm_ref, w, h)
            true = kernels.grid_sample(landmark_map(mesh, lm_cur, h, w, identity_map(h, w)),
                                       true, border="replicate")
            # landmarks of the rendered frame: where the face mesh would find them
        cur = kernels.grid_sample(ref, true, border="replicate")
        cur = _photometric_jitter(cur, rng)
        if lm_cur is not None:
            lm_cur = _points_through(true, lm_ref, lm_cur)
        init, face = self.initial(cur, ref, lm_cur, lm_ref if lm_cur is not None else None)
        return Pair(cur, ref, init, face, true)


def random_smooth_flow(h: int, w: int, rng: np.random.Generator,
                       max_shift: float = 0.06) -> np.ndarray:
    """(h, w, 2) float32 px: a global similarity motion plus coarse random bumps."""
    side = max(h, w)
    ang = rng.normal(0, 0.06)
    scale = 1 + rng.normal(0, 0.04)
    shift = rng.normal(0, max_shift * side / 2, 2)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2, h / 2
    c, s = np.cos(ang) * scale, np.sin(ang) * scale
    fx = c * (xs - cx) - s * (ys - cy) + cx + shift[0] - xs
    fy = s * (xs - cx) + c * (ys - cy) + cy + shift[1] - ys
    for cells, amp in ((3, 0.03), (6, 0.012)):
        coarse = rng.normal(0, amp * side, (cells, cells, 2)).astype(np.float32)
        fine = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        fx += fine[..., 0]
        fy += fine[..., 1]
    return np.stack([fx, fy], -1).astype(np.float32)


def _jitter_landmarks(lm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move the face like an expression would: smooth displacement of the mesh points."""
    centre = lm.mean(0)
    size = float(np.ptp(lm, axis=0).max())
    k = rng.normal(0, 0.04 * size, (3, 2))
    rel = (lm - centre) / max(size, 1.0)
    disp = k[0] * rel[:, :1] ** 2 + k[1] * rel[:, 1:] + k[2] * rel[:, :1] * rel[:, 1:]
    return (lm + disp).astype(np.float32)


def _points_through(true_map: np.ndarray, lm_ref: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Points x of the current frame with true_map(x) ~= lm_ref (fixed-point iterations)."""
    pts = guess.astype(np.float32).copy()
    h, w = true_map.shape[:2]
    for _ in range(4):
        at = np.clip(np.round(pts).astype(int), 0, [w - 1, h - 1])
        pts += lm_ref - true_map[at[:, 1], at[:, 0]]
    return pts


def _photometric_jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gain = rng.normal(1.0, 0.04, 3)
    bias = rng.normal(0, 4, 3)
    noise = rng.normal(0, 2.0, img.shape)
    out = img.astype(np.float32) * gain + bias + noise
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
