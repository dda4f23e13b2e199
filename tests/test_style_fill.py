"""New content gets the edit when the SDK can make it (a built-in style): content a panning
camera reveals is styled like its neighbours on every frame and in the next reference's edit,
not left as a block of live pixels that pops when a reference takes it in (issue 41)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.edits.fill import StyleFill


@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    """14 frames of a camera panning left over the astronaut photo, 8 px a frame: content
    enters at the left edge (no face needed: the style travels by optical flow)."""
    import skimage.data

    big = cv2.resize(skimage.data.astronaut(), (900, 512))
    return [np.ascontiguousarray(big[:, 300 - 8 * t: 812 - 8 * t]) for t in range(14)]


def test_a_style_made_on_a_crop_matches_the_styled_frame(pan):
    frame = pan[0]
    inner = np.zeros(frame.shape[:2], bool)
    inner[206:314, 66:174] = True  # inside the unseen box
    for name in se.edits.STYLES:
        whole = se.edits.apply_style(name, frame)
        unseen = np.zeros(frame.shape[:2], np.float32)  # at the frame's size: made there
        unseen[200:320, 60:180] = 1.0
        painted = StyleFill(name).paint(frame, frame.copy(), unseen)
        assert np.abs(painted[inner].astype(int) - whole[inner]).mean() < 1.5, name
        assert np.array_equal(painted[:150], frame[:150]), name  # away from it: untouched
        small = np.zeros((256, 256), np.float32)  # given at the work size (half the
        small[100:160, 30:90] = 1.0  # frame's): made at the frame's own resolution all the same
        again = StyleFill(name).paint(frame, frame.copy(), small)
        assert np.abs(again[inner].astype(int) - whole[inner]).mean() < 1.5, name


def test_the_fill_of_a_new_reference_is_the_style_inside_and_fades_at_the_seam(pan):
    frame = pan[0]
    delta = np.full(frame.shape, 7.0, np.float32)  # a carried edit, unreliable in the mask
    mask = np.zeros(frame.shape[:2], bool)
    mask[100:300, 100:300] = True
    filled = StyleFill("teal-orange").fill(frame, delta, mask)
    made = se.edits.apply_style("teal-orange", frame).astype(np.float32) - frame
    assert np.allclose(filled[150:250, 150:250], made[150:250, 150:250])
    assert np.array_equal(filled[~mask], delta[~mask])
    seam = filled[200, 100:106, 0]  # from the carried edit (7) towards the style
    assert abs(seam[0] - 7.0) < abs(made[200, 100, 0] - 7.0) + 1e-3


def _strip_distances(frames, fill) -> tuple[list[float], list[float]]:
    """Per frame from 2: the mean distance of the output's entered strip to the styled frame
    and to the live frame; and the reference edit's, after the replacement."""
    cfg = se.EditorConfig(replacement=se.ReplacementConfig(interval=10))
    to_style, to_live = [], []
    with se.StreamEditor(cfg, inpainter=fill) as ed:
        ed.set_reference(frames[0], se.edits.apply_style("cartoon", frames[0]),
                         needs_face=False)
        for t, frame in enumerate(frames[1:], 1):
            out = ed.process(frame)
            if t < 2:
                continue
            strip = np.s_[:, 4: 8 * t - 4]  # what entered since frame 0, less a seam
            styled = se.edits.apply_style("cartoon", frame)
            to_style.append(float(np.abs(out.frame[strip].astype(int) - styled[strip]).mean()))
            to_live.append(float(np.abs(out.frame[strip].astype(int) - frame[strip]).mean()))
            if out.replaced:
                edit = ed.reference_edit[strip]
                to_style.append(float(np.abs(edit.astype(int) - styled[strip]).mean()))
                to_live.append(float(np.abs(edit.astype(int) - frame[strip]).mean()))
    return to_style, to_live


def test_content_a_panning_camera_reveals_is_styled_on_every_frame(pan):
    to_style, to_live = _strip_distances(pan, StyleFill("cartoon"))
    assert max(to_style) < 8.0 and min(to_live) > 15.0
    # the editor's default fill (the carried edit's difference inpainted, what a user's own
    # edited frame gets) cannot draw the style's outlines and flat colours: what this adds
    to_style, _ = _strip_distances(pan, None)
    assert np.median(to_style) > 15.0
