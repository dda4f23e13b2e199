"""The cut pass of ``streamedit eval``: a hard cut to a shot without a face and back.

The clip's frames :data:`CUT_AT` .. :data:`CUT_AT` + :data:`CUT_FRAMES` are replaced by a
faceless shot (a drifting pattern of colour and stripes, made here: no face detector finds a
face in it), then the clip goes on. The fidelity probes are drawn on frame 0 and carried in
residual mode. Measured:

* ``edit_px_faceless``: on each faceless frame, the pixels the output changes by more than
  :data:`CHANGED` levels (max over channels); nothing of a face edit belongs there (0);
* ``sticker_after``: the left cheek star's median IoU over the frames after the cut, against
  where the independent face mesh places it (the edit comes back whole).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import cv2
import numpy as np

from streamedit_sdk.apps.eval import fidelity
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor

CUT_AT = 20  # the first faceless frame
CUT_FRAMES = 30  # how long the faceless shot lasts
AFTER = 30  # frames after the cut scored for the sticker
CHANGED = 30  # levels: a pixel the output changes by more than this carries the edit


def faceless_shot(size: tuple[int, int], frames: int, seed: int = 0) -> list[np.ndarray]:
    """``frames`` frames of (w, h) ``size``: smooth colour blobs and stripes drifting."""
    w, h = size
    rng = np.random.default_rng(seed)
    big = cv2.resize(rng.uniform(30, 225, (9, 16, 3)).astype(np.float32), (2 * w, 2 * h),
                     interpolation=cv2.INTER_CUBIC)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for t in range(frames):
        dx, dy = int(3 * t), int(2 * t)
        base = big[dy % h:dy % h + h, dx % w:dx % w + w].copy()
        stripes = 25 * np.sin((xs + 4 * t) / 11.0 + ys / 37.0)
        out.append(np.clip(base + stripes[..., None], 0, 255).astype(np.uint8))
    return out


def with_cut(frames: Iterator[np.ndarray], shot: list[np.ndarray]) -> Iterator[np.ndarray]:
    """``frames`` with those from :data:`CUT_AT` replaced by ``shot`` (a cut away and back)."""
    for i, frame in enumerate(frames):
        k = i - CUT_AT
        yield shot[k] if 0 <= k < len(shot) else frame


def measure(frames: Callable[[], Iterator[np.ndarray]], truth: list[np.ndarray | None],
            config: EditorConfig) -> dict:
    """The cut pass on a clip (``truth``: the independent face mesh of each frame of the
    clip without the cut); ``{"edit_px_faceless": [per faceless frame], "max": int,
    "sticker_after": median IoU or None}``."""
    if not truth or truth[0] is None:
        raise ValueError("frame 0 shows no face: the probes need its landmarks")
    first = next(frames())
    probes = fidelity.make_probes(truth[0])
    target = next(p for p in probes if p.name == "cheek_left")
    shot = faceless_shot((first.shape[1], first.shape[0]), CUT_FRAMES)
    end = CUT_AT + CUT_FRAMES + AFTER
    cfg = dataclasses.replace(config, mode="residual")
    changed, ious = [], []
    with StreamEditor(cfg) as editor:
        editor.set_reference(first, fidelity.draw_probes(first, probes), index=0)
        for i, frame in enumerate(with_cut((f for _, f in zip(range(end), frames())), shot)):
            out = editor.process(frame).frame
            if CUT_AT <= i < CUT_AT + CUT_FRAMES:
                diff = np.abs(out.astype(np.int16) - frame).max(axis=2)
                changed.append(int(np.count_nonzero(diff > CHANGED)))
            elif i >= CUT_AT + CUT_FRAMES and i < len(truth) and truth[i] is not None:
                placed = fidelity.rasterize(target, fidelity.local_affine_points(
                    target.points, truth[0], truth[i]), frame.shape[:2])
                found = fidelity.found_mask(out, frame, target.colour)
                union = np.count_nonzero(found | placed)
                ious.append(np.count_nonzero(found & placed) / union if union else 0.0)
    return {"edit_px_faceless": changed, "max": max(changed) if changed else 0,
            "sticker_after": float(np.median(ious)) if ious else None}
