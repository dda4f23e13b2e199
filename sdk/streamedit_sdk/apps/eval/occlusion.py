"""The occlusion pass of ``streamedit eval``: occluders composited over the clip with exact
masks (:mod:`.occluders`), and what a viewer would see of a sticker and of the occluder.

Per occluder kind, the clip's frames get the occluder along a path over the left cheek
(frame 0, the user's frame, stays clean); the fidelity probes (:mod:`.fidelity`: stars on
both cheeks, the forehead and the chin, a moustache) are drawn on frame 0 and carried by the
SDK in residual mode. On each frame where the occluder covers part of the left cheek's star
(as the independent face mesh places it):

* ``drawn_on_occluder``: the share of those covered pixels that show the star's colour (0 is
  right: the star goes behind the occluder), median and 95th percentile over the frames, and
  over all their pixels together (``drawn_on_occluder_all``);
* ``visible_iou``: IoU of the star found in the output with its visible part (the placed
  star less the occluder);

and over every frame the occluder is in: the identity edit (the user's frame unedited,
replace mode) reproduced over the occluder and over the rest of the face, PSNR dB
(``psnr_occluder``, ``psnr_face``: an occluder erased by the edit scores far lower over
itself), and the visibility the SDK reported (``EditResult.visibility``) against the
occluder's mask inside the face: ROC AUC and IoU of its hidden part (``visibility_auc``,
``visibility_iou``), beside each classical signal the SDK can compute (``signals``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import chain
from typing import Callable, Iterator

import cv2
import numpy as np

from streamedit_sdk.apps.eval import fidelity
from streamedit_sdk.apps.eval.occluders import KINDS, Path, make_occluder, occluded_clip
from streamedit_sdk.apps.metrics import psnr
from streamedit_sdk.config import EditorConfig, Visibility
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.correspondence.face_lead import face_mask

TARGET = "cheek_left"  # the probe the occluders cover
PATH = Path(enter=8, arrive=24, leave=48, gone=64)  # frames of the occluder's visit
REST_BELOW = 0.05  # IOD: where the occluder stays, its top edge this far below the cheek's
# centre: over part of the star, so the visible part's edge is scored while it stays
SCORE_COVER = 0.05  # a frame is scored for the star when the occluder covers this share of it
SCORE_VISIBLE = 0.25  # ... and for its visible part's IoU when this share of it is visible
SIGNALS = {"network": Visibility(fold=False), "residual": Visibility(occluders="residual",
                                                                    fold=False),
           "fold": Visibility(occluders="none", fold=True),
           "network+fold": Visibility(fold=True)}  # the model and the classical signals


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` (higher: more likely positive) for ``labels``
    (bool); None when one class is missing. Ties share their rank."""
    labels = np.asarray(labels, bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    n1 = int(labels.sum())
    n0 = labels.size - n1
    if n1 == 0 or n0 == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(scores.size, np.float64)
    sorted_scores = scores[order]
    # average ranks over ties
    _, start, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mean_rank = start + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, counts)
    return float((ranks[labels].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


@dataclass
class KindScores:
    """One occluder kind's per-frame numbers on one clip."""

    drawn_on_occluder: list[float] = field(default_factory=list)
    drawn_px: int = 0  # star pixels drawn on the occluder, all scored frames
    covered_px: int = 0  # star pixels the occluder covers, all scored frames
    visible_iou: list[float] = field(default_factory=list)
    psnr_occluder: list[float] = field(default_factory=list)
    psnr_face: list[float] = field(default_factory=list)
    hidden: list[np.ndarray] = field(default_factory=list)  # 1 - visibility in the face
    truth: list[np.ndarray] = field(default_factory=list)  # the occluder's mask there

    def summary(self) -> dict:
        def med(v):
            return float(np.median(v)) if v else None

        hidden = np.concatenate(self.hidden) if self.hidden else np.zeros(0)
        truth = np.concatenate(self.truth) if self.truth else np.zeros(0, bool)
        inter = np.count_nonzero((hidden >= 0.5) & truth)
        union = np.count_nonzero((hidden >= 0.5) | truth)
        return {"frames": len(self.drawn_on_occluder),
                "drawn_on_occluder": med(self.drawn_on_occluder),
                "drawn_on_occluder_p95": (float(np.percentile(self.drawn_on_occluder, 95))
                                          if self.drawn_on_occluder else None),
                "drawn_on_occluder_all": (self.drawn_px / self.covered_px if self.covered_px
                                          else None),
                "visible_iou": med(self.visible_iou),
                "psnr_occluder": med(self.psnr_occluder), "psnr_face": med(self.psnr_face),
                "visibility_auc": roc_auc(hidden, truth) if truth.size else None,
                "visibility_iou": inter / union if union else None}


def measure(frames: Callable[[], Iterator[np.ndarray]], truth: list[np.ndarray | None],
            config: EditorConfig, kinds: tuple[str, ...] = KINDS, seed: int = 0,
            frame_count: int = PATH.gone + 4,
            on_frame: Callable[[str, int, np.ndarray], None] | None = None) -> dict:
    """The occlusion pass on a clip: ``{kind: summary}`` for the SDK (``config``), and for
    each kind the classical signals' visibility AUC and IoU (``signals``).

    frames: makes a fresh iterator over the clip (frame 0 first; only the first
    ``frame_count`` are used); truth: the independent face mesh of each frame (478, 2)
    full-size px or None; on_frame(kind, index, output): each residual-mode output (for
    pictures)."""
    if not truth or truth[0] is None:
        raise ValueError("frame 0 shows no face: the probes and occluders need its landmarks")
    first = next(frames())
    probes = fidelity.make_probes(truth[0])
    target = next(p for p in probes if p.name == TARGET)
    rng = np.random.default_rng(seed)
    # every kind drawn, in one order: a kind's occluder is the same whichever kinds are run
    made = {kind: make_occluder(kind, first, truth[0], rng) for kind in KINDS}
    results = {}
    for kind in kinds:
        occluder = made[kind]
        path = dataclasses.replace(PATH, rest=(0.0, occluder.reach + REST_BELOW))

        def clip() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            return occluded_clip((f for _, f in zip(range(frame_count), frames())), truth,
                                 occluder, path)

        scores = KindScores()
        _sticker(clip, truth, probes, target, config, scores, kind, on_frame)
        _identity(clip, truth, config, scores)
        summary = scores.summary()
        summary["signals"] = {name: _signal(clip, truth, dataclasses.replace(
            config, visibility=vis, mode="replace")) for name, vis in SIGNALS.items()}
        results[kind] = summary
    return results


def _run(clip: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]], edited: np.ndarray,
         config: EditorConfig) -> Iterator[tuple[int, np.ndarray, np.ndarray, object]]:
    """(index, frame, mask, result) for frames 1.. of the occluded clip, the SDK's edit of
    frame 0 (``edited``) carried by ``config``."""
    it = clip()
    first, _ = next(it)
    masks: list[np.ndarray] = []

    def feed() -> Iterator[np.ndarray]:
        for frame, mask in it:
            masks.append(mask)
            yield frame
    with StreamEditor(config) as editor:
        editor.set_reference(first, edited, index=0)
        given: list[np.ndarray] = []

        def frames_in() -> Iterator[np.ndarray]:
            for frame in chain([first], feed()):
                given.append(frame)
                yield frame
        for index, result in enumerate(editor.stream(frames_in())):
            frame = given[index]
            given[index] = None  # (not kept)
            if index:
                yield index, frame, masks[index - 1], result


def _sticker(clip, truth, probes, target, config, scores: KindScores, kind: str,
             on_frame) -> None:
    first, _ = next(clip())
    edited = fidelity.draw_probes(first, probes)
    cfg = dataclasses.replace(config, mode="residual")
    for index, frame, mask, result in _run(clip, edited, cfg):
        if on_frame is not None:
            on_frame(kind, index, result.frame)
        lm = truth[index] if index < len(truth) else None
        if lm is None or not mask.any():
            continue
        placed = fidelity.rasterize(target, fidelity.local_affine_points(
            target.points, truth[0], lm), frame.shape[:2])
        covered = placed & mask
        if np.count_nonzero(covered) < SCORE_COVER * max(np.count_nonzero(placed), 1):
            continue
        found = fidelity.found_mask(result.frame, frame, target.colour)
        scores.drawn_on_occluder.append(float(found[covered].mean()))
        scores.drawn_px += int(np.count_nonzero(found & covered))
        scores.covered_px += int(np.count_nonzero(covered))
        visible = placed & ~mask
        if np.count_nonzero(visible) >= SCORE_VISIBLE * np.count_nonzero(placed):
            union = np.count_nonzero(found | visible)
            scores.visible_iou.append(np.count_nonzero(found & visible) / union)


def _identity(clip, truth, config, scores: KindScores) -> None:
    first, _ = next(clip())
    cfg = dataclasses.replace(config, mode="replace")
    for index, frame, mask, result in _run(clip, first, cfg):
        lm = truth[index] if index < len(truth) else None
        if lm is None or not mask.any():
            continue
        h, w = frame.shape[:2]
        face = face_mask(lm, w, h).astype(bool)
        if np.count_nonzero(mask & face) < 50:
            continue
        scores.psnr_occluder.append(psnr(result.frame[mask & face], frame[mask & face]))
        scores.psnr_face.append(psnr(result.frame[face & ~mask], frame[face & ~mask]))
        if result.visibility is not None:
            hidden, truth_mask = _in_face(result.visibility, mask, lm, (w, h))
            scores.hidden.append(hidden)
            scores.truth.append(truth_mask)


def _in_face(visible: np.ndarray, mask: np.ndarray, lm: np.ndarray, size: tuple[int, int]
             ) -> tuple[np.ndarray, np.ndarray]:
    """(1 - visibility, occluder mask) over the face, at the visibility's work size."""
    vh, vw = visible.shape
    w, h = size
    face = face_mask(lm * np.float32([vw / w, vh / h]), vw, vh).astype(bool)
    small = cv2.resize(mask.astype(np.uint8), (vw, vh), interpolation=cv2.INTER_NEAREST)
    return 1.0 - visible[face], small[face].astype(bool)


def _signal(clip, truth, config: EditorConfig) -> dict:
    """One classical signal's visibility against the occluder's mask over the face."""
    scores = KindScores()
    first, _ = next(clip())
    for index, frame, mask, result in _run(clip, first, config):
        lm = truth[index] if index < len(truth) else None
        if lm is None or not mask.any() or result.visibility is None:
            continue
        h, w = frame.shape[:2]
        hidden, truth_mask = _in_face(result.visibility, mask, lm, (w, h))
        scores.hidden.append(hidden)
        scores.truth.append(truth_mask)
    s = scores.summary()
    return {"visibility_auc": s["visibility_auc"], "visibility_iou": s["visibility_iou"]}
