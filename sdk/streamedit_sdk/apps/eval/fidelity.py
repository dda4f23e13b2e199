"""Edit fidelity: do stickers drawn on frame 0 stay where the face puts them, in one piece?

Reconstruction PSNR cannot see a torn sticker: a textureless cheek is reproduced "well" by a map
that drags whatever is drawn on it. This measures what a viewer sees (DESIGN.md, "How quality
is measured"). On frame 0, solid-coloured probes are drawn at face anchors (filled stars on
both cheeks, the forehead and the chin; a thin moustache stroke) and carried in residual mode.
On every later frame a probe's *expected* placement is its frame-0 outline with each vertex
moved by a local least-squares affine of its :data:`NEIGHBOURS` nearest landmarks (an
independent face mesh run on the input); the *found* probe is where the output shows the
probe's colour and differs from the input. Per frame and probe:

- IoU of found and expected;
- torn: the found probe has two or more pieces of at least :data:`PIECE_SHARE` of its
  expected area;
- drift: distance of the centroids over the inter-ocular distance (IOD, iris centre to iris
  centre); a probe not found at all counts as :data:`LOST_DRIFT` IOD.

Frames where the independent mesh finds no face are not scored (counted in ``unscored``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

NEIGHBOURS = 16  # landmarks whose local affine moves a probe vertex
PIECE_SHARE = 0.03  # a piece counts for "torn" from this share of the expected area
LOST_DRIFT = 1.0  # drift, IOD, of a probe not found on a frame
COLOUR_TOLERANCE = 90.0  # RGB distance within which an output pixel shows a probe's colour
CHANGE_MIN = 60.0  # RGB distance output - input from which a pixel counts as edited
IRIS_LEFT, IRIS_RIGHT = 468, 473  # iris centres of the refined face mesh
MESH_POINTS = 468  # landmarks used for the local affines (the iris points left out)
_LIP_TOP, _PHILTRUM, _MOUTH_L, _MOUTH_R = 0, 164, 61, 291
_LIP_BOTTOM, _CHIN = 17, 152
_CHEEK_L, _CHEEK_R, _FOREHEAD = 205, 425, 151
_FACE_L, _FACE_R = 234, 454


@dataclass(frozen=True)
class Probe:
    """One probe drawn on frame 0.

    name: anchor ("cheek_left", ...); points: (N, 2) float32 full-size px, the filled polygon's
    vertices or the stroke's polyline; colour: RGB; width: stroke width px (0: filled).
    """

    name: str
    points: np.ndarray
    colour: tuple[int, int, int]
    width: float = 0.0


def _star(centre: np.ndarray, radius: float, roll: float) -> np.ndarray:
    angles = roll + np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, radius, radius * 0.45)
    return np.stack([centre[0] + radii * np.cos(angles),
                     centre[1] - radii * np.sin(angles)], 1).astype(np.float32)


def make_probes(landmarks: np.ndarray) -> list[Probe]:
    """The probes for a face with ``landmarks`` (478, 2) full-size px: stars on both cheeks,
    the forehead and the chin, a moustache stroke; sizes in face widths."""
    lm = landmarks.astype(np.float64)
    across = lm[_FACE_R] - lm[_FACE_L]
    fw = float(np.linalg.norm(across))
    roll = -float(np.arctan2(across[1], across[0]))
    down = np.array([-across[1], across[0]]) / max(fw, 1e-6)
    chin = (lm[_LIP_BOTTOM] + lm[_CHIN]) / 2
    mouth = lm[_MOUTH_R] - lm[_MOUTH_L]
    mid = (lm[_LIP_TOP] + lm[_PHILTRUM]) / 2
    s = np.linspace(-1.0, 1.0, 13)[:, None]
    moustache = mid + s * mouth * 0.6 + (s ** 2) * down * 0.04 * fw
    return [Probe("cheek_left", _star(lm[_CHEEK_L], 0.14 * fw, roll), (0, 255, 0)),
            Probe("cheek_right", _star(lm[_CHEEK_R], 0.14 * fw, roll), (0, 0, 255)),
            Probe("forehead", _star(lm[_FOREHEAD] - down * 0.05 * fw, 0.14 * fw, roll),
                  (255, 0, 255)),
            Probe("chin", _star(chin, 0.09 * fw, roll), (0, 255, 255)),
            Probe("moustache", moustache.astype(np.float32), (255, 255, 0),
                  width=max(2.0, 0.025 * fw))]


def rasterize(probe: Probe, points: np.ndarray, shape: tuple[int, int],
              width: float | None = None) -> np.ndarray:
    """(H, W) bool mask of ``probe`` drawn with ``points`` (its vertices, moved)."""
    mask = np.zeros(shape, np.uint8)
    shift = 4  # sub-pixel vertices
    pts = np.round(points * (1 << shift)).astype(np.int32)[None]
    if probe.width > 0:
        cv2.polylines(mask, pts, False, 1, max(1, int(round(width or probe.width))),
                      cv2.LINE_8, shift)
    else:
        cv2.fillPoly(mask, pts, 1, cv2.LINE_8, shift)
    return mask.astype(bool)


def draw_probes(frame: np.ndarray, probes: list[Probe]) -> np.ndarray:
    """``frame`` (H, W, 3) uint8 RGB with every probe painted in its colour."""
    out = frame.copy()
    for p in probes:
        out[rasterize(p, p.points, frame.shape[:2])] = p.colour
    return out


def local_affine_points(points: np.ndarray, lm0: np.ndarray, lmt: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) of frame 0 moved to frame t: each by the least-squares affine of its
    :data:`NEIGHBOURS` nearest frame-0 landmarks onto the same landmarks of frame t."""
    src, dst = lm0[:MESH_POINTS].astype(np.float64), lmt[:MESH_POINTS].astype(np.float64)
    out = np.empty_like(points, dtype=np.float64)
    for i, p in enumerate(points.astype(np.float64)):
        near = np.argsort(((src - p) ** 2).sum(1))[:NEIGHBOURS]
        a = np.hstack([src[near], np.ones((len(near), 1))])
        m, *_ = np.linalg.lstsq(a, dst[near], rcond=None)  # (3, 2)
        out[i] = np.append(p, 1.0) @ m
    return out.astype(np.float32)


def interocular(landmarks: np.ndarray) -> float:
    """Iris centre to iris centre, px."""
    return float(np.linalg.norm(landmarks[IRIS_RIGHT] - landmarks[IRIS_LEFT]))


def found_mask(output: np.ndarray, frame: np.ndarray, colour: tuple[int, int, int]
               ) -> np.ndarray:
    """(H, W) bool: pixels of ``output`` that show ``colour`` and were changed by the edit."""
    out = output.astype(np.float32)
    near = np.linalg.norm(out - np.array(colour, np.float32), axis=2) < COLOUR_TOLERANCE
    changed = np.linalg.norm(out - frame.astype(np.float32), axis=2) > CHANGE_MIN
    return near & changed


def score(found: np.ndarray, expected: np.ndarray, iod: float) -> tuple[float, bool, float]:
    """(IoU, torn, drift in IOD) of one probe on one frame."""
    union = np.count_nonzero(found | expected)
    iou = np.count_nonzero(found & expected) / union if union else 0.0
    area = max(np.count_nonzero(expected), 1)
    n, _, stats, _ = cv2.connectedComponentsWithStats(found.astype(np.uint8), connectivity=8)
    pieces = int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= PIECE_SHARE * area))
    if not found.any() or not expected.any():
        return float(iou), pieces >= 2, LOST_DRIFT
    cf = np.argwhere(found).mean(0)
    ce = np.argwhere(expected).mean(0)
    return float(iou), pieces >= 2, float(np.linalg.norm(cf - ce) / max(iod, 1e-6))


@dataclass
class ProbeScores:
    """Per-frame scores of one probe (frames 1.. where the face was found)."""

    iou: list[float] = field(default_factory=list)
    torn: list[bool] = field(default_factory=list)
    drift: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        """median and 5th-percentile IoU, torn share, 95th-percentile drift (IOD)."""
        if not self.iou:
            return {"iou_median": None, "iou_p5": None, "torn": None, "drift_p95": None,
                    "frames": 0}
        return {"iou_median": float(np.median(self.iou)),
                "iou_p5": float(np.percentile(self.iou, 5)),
                "torn": float(np.mean(self.torn)),
                "drift_p95": float(np.percentile(self.drift, 95)), "frames": len(self.iou)}


@dataclass
class FidelityScores:
    """One method's scores for every probe, and the frames that could not be scored."""

    probes: dict[str, ProbeScores]
    unscored: int = 0

    def summary(self) -> dict:
        return {"probes": {k: v.summary() for k, v in self.probes.items()},
                "unscored": self.unscored}


# A propagator: given frame 0, its edited version and the later frames, yields each later
# frame with its output, (H, W, 3) uint8 RGB both.
Propagator = Callable[[np.ndarray, np.ndarray, Iterator[np.ndarray]],
                      Iterable[tuple[np.ndarray, np.ndarray]]]


def measure(frames: Callable[[], Iterator[np.ndarray]], truth: list[np.ndarray | None],
            propagators: dict[str, Propagator],
            on_frame: Callable[[str, int, np.ndarray, np.ndarray], None] | None = None
            ) -> dict[str, FidelityScores]:
    """Score every propagator on the clip.

    frames: makes a fresh iterator over the clip's frames, (H, W, 3) uint8 RGB, frame 0 first
    (one pass per propagator: frames are not held in memory); truth: the independent
    landmarks of each frame, (478, 2) full-size px or None; on_frame(method, index, output,
    expected): sees each scored output with the union of the expected probes (for pictures).
    """
    if not truth or truth[0] is None:
        raise ValueError("frame 0 shows no face: the probes need its landmarks")
    probes = make_probes(truth[0])
    iod0 = max(interocular(truth[0]), 1e-6)
    # moved vertices and stroke widths per frame (small: masks are drawn when scored)
    placed = [None if lm is None else
              [(local_affine_points(p.points, truth[0], lm), p.width * interocular(lm) / iod0)
               for p in probes] for lm in truth]
    results = {}
    for name, propagate in propagators.items():
        it = frames()
        first = next(it)
        shape = first.shape[:2]
        scores = FidelityScores({p.name: ProbeScores() for p in probes})
        pairs = propagate(first, draw_probes(first, probes), it)
        for index, (frame, out) in enumerate(pairs, start=1):
            if index >= len(placed) or placed[index] is None:
                scores.unscored += 1
                continue
            iod = interocular(truth[index])
            union = np.zeros(shape, bool)
            for p, (points, width) in zip(probes, placed[index]):
                expected = rasterize(p, points, shape, width)
                union |= expected
                iou, torn, drift = score(found_mask(out, frame, p.colour), expected, iod)
                s = scores.probes[p.name]
                s.iou.append(iou)
                s.torn.append(torn)
                s.drift.append(drift)
            if on_frame is not None:
                on_frame(name, index, out, union)
        results[name] = scores
    return results
