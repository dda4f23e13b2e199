"""Occluders composited over real clips with exact masks: what a visibility measure is scored
against and a visibility model is trained on (labels from compositing, never from a
photometric teacher).

An occluder is drawn once, in face units (one unit: the inter-ocular distance, IOD), as an
RGBA picture; on each frame it is placed by the face's similarity (its eyes' centre, roll and
IOD, from landmarks) and a path relative to the face: it comes in from below, covers its
target (the left cheek by default), stays, and leaves, as a hand scratching a cheek would.
Kinds (:data:`KINDS`):

* ``finger``: a shaded capsule textured with the person's own skin (from frame 0's forehead):
  skin on skin, where colour alone cannot tell;
* ``object``: a dark rounded box with a highlight (a phone, a microphone);
* ``hand``: a palm and five fingers in the person's skin;
* ``hair``: thin dark strands across the cheek.

All images are RGB uint8 (H, W, 3); masks (H, W) bool.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

KINDS = ("finger", "object", "hand", "hair")
PX_PER_UNIT = 96  # resolution of an occluder's own picture, px per IOD
_EYE_L, _EYE_R = 468, 473  # iris centres
_FOREHEAD, _CHEEK_L, _CHEEK_R = 151, 205, 425


@dataclass(frozen=True)
class Occluder:
    """An occluder's picture in face units: ``rgba`` (h, w, 4) uint8 at :data:`PX_PER_UNIT`
    px per IOD, whose point ``pivot`` (x, y px) lands on the target."""

    kind: str
    rgba: np.ndarray
    pivot: tuple[float, float]

    @property
    def reach(self) -> float:
        """IOD from the pivot up to the occluder's top edge (its leading edge as it rises)."""
        rows = np.flatnonzero((self.rgba[..., 3] >= 128).any(axis=1))
        return (self.pivot[1] - rows[0]) / PX_PER_UNIT if len(rows) else 0.0


@dataclass(frozen=True)
class Path:
    """When an occluder comes and goes, in frames: in from ``enter`` to ``arrive``, over its
    target until ``leave``, gone by ``gone``; ``start`` (IOD, face axes: x right, y down) is
    where it comes in from, ``rest`` where it stays (both relative to the target)."""

    enter: int
    arrive: int
    leave: int
    gone: int
    start: tuple[float, float] = (-0.6, 2.6)
    target: int = _CHEEK_L
    rest: tuple[float, float] = (0.0, 0.0)

    def offset(self, index: int) -> tuple[float, float] | None:
        """The occluder's pivot relative to its target, IOD, on frame ``index``; None when
        it is not in the picture."""
        if index < self.enter or index >= self.gone:
            return None
        if index < self.arrive:
            t = (index - self.enter) / max(self.arrive - self.enter, 1)
        elif index < self.leave:
            t = 1.0
        else:
            t = 1.0 - (index - self.leave) / max(self.gone - self.leave, 1)
        t = 0.5 - 0.5 * np.cos(np.pi * t)  # eased
        return (self.start[0] * (1 - t) + self.rest[0] * t,
                self.start[1] * (1 - t) + self.rest[1] * t)


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(eye centre px, IOD px, roll rad) of a face from its (478, 2) landmarks."""
    left, right = landmarks[_EYE_L].astype(np.float64), landmarks[_EYE_R].astype(np.float64)
    across = right - left
    return (left + right) / 2, float(np.linalg.norm(across)), float(np.arctan2(across[1],
                                                                               across[0]))


def skin_patch(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A square of the person's own skin (RGB uint8): the forehead above the brows."""
    _, iod, _ = face_frame(landmarks)
    cx, cy = landmarks[_FOREHEAD]
    half = max(4, int(0.22 * iod))
    y0, x0 = max(int(cy) - half, 0), max(int(cx) - half, 0)
    patch = frame[y0:int(cy) + half, x0:int(cx) + half]
    if patch.size == 0:
        patch = np.full((8, 8, 3), (200, 160, 140), np.uint8)
    return np.ascontiguousarray(patch)


def _canvas(w_units: float, h_units: float) -> np.ndarray:
    return np.zeros((int(h_units * PX_PER_UNIT), int(w_units * PX_PER_UNIT), 4), np.float32)


def _skin_texture(patch: np.ndarray, shape: tuple[int, int], rng: np.random.Generator
                  ) -> np.ndarray:
    """``patch`` stretched and mirrored over ``shape`` (h, w), float32 RGB 0..255."""
    h, w = shape
    tile = cv2.resize(patch, (max(8, w // 2), max(8, h // 2)), interpolation=cv2.INTER_CUBIC)
    tile = np.concatenate([tile, tile[:, ::-1]], 1)
    tile = np.concatenate([tile, tile[::-1]], 0)
    tex = cv2.resize(tile, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return tex * rng.uniform(0.92, 1.08)


def _capsule(canvas: np.ndarray, a: tuple[float, float], b: tuple[float, float], radius: float,
             texture: np.ndarray | None, colour: tuple[float, float, float] | None) -> None:
    """Draw a shaded capsule from ``a`` to ``b`` (units) of ``radius`` units onto ``canvas``
    (RGBA float32): darker at its rims as a cylinder is, over what is drawn already."""
    h, w = canvas.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) / PX_PER_UNIT
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
    dist = np.hypot(xs - (ax + t * dx), ys - (ay + t * dy))
    inside = dist / radius
    alpha = np.clip((1.0 - inside) * radius * PX_PER_UNIT, 0, 1)  # one px of soft edge
    shade = 0.55 + 0.45 * np.sqrt(np.clip(1 - inside ** 2, 0, 1))
    rgb = texture if texture is not None else np.broadcast_to(
        np.array(colour, np.float32), (h, w, 3))
    over = alpha[..., None]
    canvas[..., :3] = canvas[..., :3] * (1 - over) + rgb * shade[..., None] * over
    canvas[..., 3] = np.maximum(canvas[..., 3], alpha)


def make_occluder(kind: str, frame: np.ndarray, landmarks: np.ndarray,
                  rng: np.random.Generator) -> Occluder:
    """An occluder of ``kind`` for the face of ``frame`` (its ``landmarks``: the skin comes
    from it), varied by ``rng``."""
    if kind not in KINDS:
        raise ValueError(f"occluder kind must be one of {', '.join(KINDS)}; got {kind!r}")
    patch = skin_patch(frame, landmarks)
    if kind == "finger":
        canvas = _canvas(0.9, 2.6)
        r = rng.uniform(0.15, 0.2)
        tex = _skin_texture(patch, canvas.shape[:2], rng)
        _capsule(canvas, (0.45, 0.45), (0.45 + rng.uniform(-0.2, 0.2), 2.5), r, tex, None)
        pivot = (0.45, 0.5)
    elif kind == "object":
        canvas = _canvas(1.2, 2.4)
        box = np.zeros(canvas.shape[:2], np.uint8)
        p = PX_PER_UNIT
        cv2.rectangle(box, (int(0.15 * p), int(0.1 * p)), (int(1.05 * p), int(2.3 * p)), 1, -1)
        box = cv2.GaussianBlur(box.astype(np.float32), (0, 0), 0.15 * p) > 0.5
        dark = np.array(rng.uniform(20, 60, 3), np.float32)
        noise = rng.normal(0, 4, canvas.shape[:2] + (3,)).astype(np.float32)
        canvas[..., :3] = dark + noise
        canvas[int(0.3 * p):int(0.45 * p), int(0.3 * p):int(0.9 * p), :3] += 60  # a highlight
        canvas[..., 3] = cv2.GaussianBlur(box.astype(np.float32), (3, 3), 0)
        pivot = (0.6, 0.5)
    elif kind == "hand":
        canvas = _canvas(2.2, 3.2)
        tex = _skin_texture(patch, canvas.shape[:2], rng)
        _capsule(canvas, (1.1, 2.2), (1.1, 2.8), 0.55, tex, None)  # the palm
        for k, (x, top) in enumerate([(0.55, 0.6), (0.9, 0.35), (1.25, 0.4), (1.6, 0.65)]):
            _capsule(canvas, (x, top + rng.uniform(-0.1, 0.1)), (x + 0.05 * (k - 1.5), 2.2),
                     0.17, tex, None)
        _capsule(canvas, (0.25, 1.7), (0.8, 2.5), 0.19, tex, None)  # the thumb
        pivot = (1.05, 0.7)
    else:  # hair
        canvas = _canvas(2.0, 2.0)
        colour = tuple(float(c) for c in np.array([58, 42, 30]) * rng.uniform(0.4, 1.6))
        for _ in range(14):
            pts = np.stack([np.linspace(0.1, 1.9, 24),
                            rng.uniform(0.3, 1.7) + 0.25 * np.sin(np.linspace(0, 3, 24)
                                                                  + rng.uniform(0, 6))], 1)
            layer = np.zeros(canvas.shape[:2], np.uint8)
            cv2.polylines(layer, [np.round(pts * PX_PER_UNIT * 4).astype(np.int32)], False,
                          255, max(1, int(rng.uniform(0.02, 0.035) * PX_PER_UNIT)), cv2.LINE_AA,
                          shift=2)
            a = layer.astype(np.float32) / 255.0
            canvas[..., :3] = canvas[..., :3] * (1 - a[..., None]) + np.float32(colour) * a[
                ..., None]
            canvas[..., 3] = np.maximum(canvas[..., 3], a)
        pivot = (1.0, 1.0)
    rgba = np.concatenate([np.clip(canvas[..., :3], 0, 255),
                           np.clip(canvas[..., 3:] * 255, 0, 255)], 2)
    return Occluder(kind, rgba.round().astype(np.uint8),
                    (pivot[0] * PX_PER_UNIT, pivot[1] * PX_PER_UNIT))


def placement(occluder: Occluder, landmarks: np.ndarray, offset: tuple[float, float],
              target: int = _CHEEK_L, scale: float = 1.0, turn: float = 0.0) -> np.ndarray:
    """The 2x3 affine from the occluder's picture to the frame: its pivot at the target
    landmark plus ``offset`` (IOD, along the face's axes), scaled to the face (times
    ``scale``), turned with its roll (plus ``turn`` rad)."""
    _, iod, roll = face_frame(landmarks)
    s = iod / PX_PER_UNIT * scale
    c, si = np.cos(roll + turn), np.sin(roll + turn)
    rot = np.array([[c, -si], [si, c]]) * s
    c0, s0 = np.cos(roll), np.sin(roll)
    face_axes = np.array([[c0, -s0], [s0, c0]]) * iod
    anchor = landmarks[target].astype(np.float64) + face_axes @ np.array(offset)
    m = np.zeros((2, 3))
    m[:, :2] = rot
    m[:, 2] = anchor - rot @ np.array(occluder.pivot)
    return m


def composite(frame: np.ndarray, occluder: Occluder, affine: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` with the occluder drawn at ``affine``, and its exact mask (alpha >= 0.5)."""
    h, w = frame.shape[:2]
    warped = cv2.warpAffine(occluder.rgba, affine, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    alpha = warped[..., 3:].astype(np.float32) / 255.0
    out = frame.astype(np.float32) * (1 - alpha) + warped[..., :3].astype(np.float32) * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha[..., 0] >= 0.5


def occluded_clip(frames, truth: list[np.ndarray | None], occluder: Occluder, path: Path):
    """Each frame of ``frames`` with the occluder composited along ``path``: (frame, mask)
    pairs; the mask is all False where the occluder is away or the face unknown (the
    occluder then stays where it was last placed relative to the last known face)."""
    last = None
    for index, frame in enumerate(frames):
        lm = truth[index] if index < len(truth) else None
        last = lm if lm is not None else last
        offset = path.offset(index)
        if offset is None or last is None:
            yield frame, np.zeros(frame.shape[:2], bool)
            continue
        yield composite(frame, occluder, placement(occluder, last, offset, path.target))
