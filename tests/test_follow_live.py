"""Replace mode where the reference does not describe the frame (issue 41): content that left
the picture (teeth behind a closed mouth) is not torn out of the reference, and content no
reference saw takes the edit of its surroundings."""

from __future__ import annotations

import cv2
import numpy as np
import streamedit_sdk as se
import streamedit_sdk.edits
from streamedit_sdk.core import editor as editor_module
from streamedit_sdk.core.unseen import follow_live, live_weight


def _shot(t: int, teeth: bool) -> np.ndarray:
    """The astronaut photo moved by (2t, t) px; ``teeth``: a bright bar over the mouth."""
    import skimage.data

    m = np.float32([[1, 0, 2 * t], [0, 1, t]])
    f = cv2.warpAffine(skimage.data.astronaut(), m, (512, 512), borderMode=cv2.BORDER_REFLECT)
    if teeth:
        cv2.rectangle(f, (170 + 2 * t, 150 + t), (215 + 2 * t, 165 + t), (250, 250, 240), -1)
    return f


def test_content_gone_from_the_frame_is_not_torn_out_of_the_reference(monkeypatch):
    first = _shot(0, teeth=True)
    edited = se.edits.apply_style("teal-orange", first)  # a whole-look edit, as a user's
    errors = {}
    for follow in (True, False):
        if not follow:  # the plain warp: what replace mode drew before
            monkeypatch.setattr(editor_module, "follow_unseen", lambda m, *args: m.edited)
        cfg = se.EditorConfig(mode="replace", replacement=se.ReplacementConfig(enabled=False))
        with se.StreamEditor(cfg) as ed:
            ed.set_reference(first, edited)
            for t in range(1, 6):
                frame = _shot(t, teeth=False)
                out = ed.process(frame).frame
        bar = np.s_[150 + t:165 + t, 170 + 2 * t:215 + 2 * t]
        want = se.edits.apply_style("teal-orange", frame)[bar]
        errors[follow] = float(np.abs(out[bar].astype(int) - want).mean())
        away = np.s_[300:400, 300:400]  # the rest stays the warped edit
        assert np.abs(out[away].astype(int) - se.edits.apply_style(
            "teal-orange", frame)[away]).mean() < 4.0
    assert errors[True] < 16.0 < 24.0 < errors[False]


def test_content_no_reference_saw_takes_the_edit_around_it():
    frame = np.full((64, 64, 3), 100, np.uint8)
    output = frame.copy()
    delta = np.full((64, 64, 3), 40.0, np.float32)  # a whole-look edit: +40 everywhere...
    delta[20:40, 20:40] = 0.0  # ...but nothing carried where no reference pixel was
    weight = np.zeros((32, 32), np.float32)  # work size
    weight[10:20, 10:20] = 1.0
    out = follow_live(output, frame, delta, weight, weight >= 1.0)
    assert np.abs(out[24:36, 24:36].astype(int) - 140).max() <= 3  # the edit around it
    assert np.array_equal(out[:16], frame[:16])  # where the weight is 0: untouched


def test_the_weight_ramps_with_the_uncertainty_and_is_one_off_the_reference():
    h, w = 16, 16  # (the weight is made at half this size)
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32),
                                np.arange(h, dtype=np.float32)), -1)
    grid[0, 0] = (-5.0, 3.0)  # off the reference
    grid[4:6, 4:6] = (3.0, w + 0.6)  # past its bottom edge
    sigma = np.tile(np.repeat(np.linspace(0.0, 0.3, w // 2, dtype=np.float32), 2), (h, 1))
    live = live_weight(grid, grid, sigma, pixel_sigma=0.06, inpaint_sigma=0.15)
    weight, unseen = live.weight, live.unseen
    assert weight.shape == (8, 8)
    assert weight[0, 0] == 1.0 and unseen[0, 0] and unseen[2, 2] and unseen.sum() == 2
    assert live.new[0, 0] and not live.new[2, 2]  # 0.6 px past the edge: not new content
    assert weight[3, 0] == 0.0 and weight[3, -1] == 1.0
    assert np.all(np.diff(weight[3]) >= 0.0)  # more uncertain: more live
    s = sigma[6, ::2]
    assert weight[3][(s > 0.105) & (s < 0.15)].max() < 1.0  # by degrees
