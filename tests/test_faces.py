"""Faces that leave and come back, and a second face: the edit belongs to the tracked face,
comes back whole from the user's edited frame, and never lands on another face."""

from __future__ import annotations

import cv2
import numpy as np

import streamedit_sdk as se
from streamedit_sdk.apps.eval import fidelity
from streamedit_sdk.apps.eval.carriers import mesh_truth, sdk_propagator
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.io.video import VideoReader


def _first(path, n: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    out = []
    for i, f in enumerate(VideoReader(path)):
        if i == n:
            break
        out.append(f if size is None else cv2.resize(f, size, interpolation=cv2.INTER_AREA))
    return out


def _slide_out_and_back(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The face slides out to the left (frames 20-35), is away (35-45), slides back (45-60)."""
    h, w = frames[0].shape[:2]

    def shift(i: int) -> float:
        if 20 <= i < 35:
            return -w * (i - 20) / 15
        if 35 <= i < 45:
            return -w
        if 45 <= i < 60:
            return -w * (60 - i) / 15
        return 0.0
    return [cv2.warpAffine(f, np.float32([[1, 0, shift(i)], [0, 1, 0]]), (w, h),
                           borderValue=(30, 40, 50)) for i, f in enumerate(frames)]


def test_the_edit_comes_back_whole_when_the_face_returns(clips):
    frames = _slide_out_and_back(_first(clips / "d11.mp4", 85))
    truth = mesh_truth(frames, 512)
    assert truth[40] is None and truth[70] is not None  # away, then back
    scored = [i for i in range(1, len(frames)) if truth[i] is not None]
    for mode in ("residual", "replace"):
        res = fidelity.measure(lambda: iter(frames), truth,
                               {mode: sdk_propagator(se.EditorConfig(mode=mode))})[mode]
        for name in ("cheek_left", "cheek_right", "forehead"):
            s = res.probes[name]
            back = [j for j, i in enumerate(scored) if i >= 62]  # fully back
            iou = np.array(s.iou)[back]
            assert len(back) >= 20
            assert np.median(iou) >= 0.8 and iou.min() >= 0.6, (mode, name, iou)
            assert not any(np.array(s.torn)[back]), (mode, name)


def test_a_second_face_stays_untouched(clips):
    """Two clips side by side; the sticker goes on the larger face and stays there: not one
    pixel of the other face changes in 140 frames."""
    left = _first(clips / "d11.mp4", 140, (384, 384))
    right = _first(clips / "d3.mp4", 140, (384, 384))
    frames = [np.concatenate([a, b], 1) for a, b in zip(left, right)]
    edited = EditSpec(sticker="star").apply(frames[0])
    changed = np.abs(edited.astype(np.int16) - frames[0]).max(2) > 30
    mine = 1 if changed[:, 384:].sum() > changed[:, :384].sum() else 0
    assert changed[:, mine * 384:(mine + 1) * 384].sum() > 500  # the sticker is on one face
    other = slice((1 - mine) * 384, (2 - mine) * 384)
    with se.StreamEditor(se.EditorConfig(mode="residual")) as editor:
        editor.set_reference(frames[0], edited)
        for i, frame in enumerate(frames):
            out = editor.process(frame).frame
            moved = np.abs(out[:, other].astype(np.int16) - frame[:, other]).max(2) > 30
            assert moved.sum() == 0, f"frame {i}: {moved.sum()} pixels of the other face"
            assert (np.abs(out.astype(np.int16) - frame).max(2) > 30).sum() > 300, i
