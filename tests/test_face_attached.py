"""The user's face-attached edit travels by the face mesh straight from the origin, on every
frame and whatever the current reference (issue 18, item 2), and stays opaque in residual mode.
"""

import dataclasses

import cv2
import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic
from streamedit_sdk.core import ops
from streamedit_sdk.correspondence.face_lead import attached_edit, interocular
from streamedit_sdk.correspondence.flow import FlowCorrespondence, FlowReference
from streamedit_sdk.maps import identity_map, off_reference
from streamedit_sdk.perception.landmarks import LandmarkTracker, WarpMesh


@pytest.fixture(scope="module")
def face(astronaut_face):
    """The astronaut's photo and its landmarks."""
    return astronaut_face


def _sticker(landmarks, shape, colour=(0.0, 200.0, 0.0)):
    """(H, W, 3) float32 delta: a filled disc on the left cheek."""
    delta = np.zeros(shape + (3,), np.float32)
    x, y = np.round(landmarks[205]).astype(int)
    cv2.circle(delta, (int(x), int(y)), int(interocular(landmarks) * 0.25), colour, -1)
    return delta


def _origin(frame, landmarks, delta):
    h, w = frame.shape[:2]
    mesh = WarpMesh.build(landmarks, w, h)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    attached = attached_edit(delta, landmarks)
    edited = np.clip(frame + delta, 0, 255).astype(np.uint8)
    return ops.Origin(0, delta, FlowReference(gray), edited, mesh, gray, attached,
                      *ops.split_attached(delta, attached))


def test_the_edit_is_split_into_its_face_part_and_the_rest(face):
    frame, landmarks = face
    sticker = _sticker(landmarks, frame.shape[:2])
    style = np.zeros_like(sticker)
    style[:40] = 25.0  # a band across the top of the frame: not on the face
    attached = attached_edit(sticker + style, landmarks)
    on_face, rest = ops.split_attached(sticker + style, attached)
    np.testing.assert_array_equal(on_face, sticker)
    np.testing.assert_array_equal(rest, style)
    on_face, rest = ops.split_attached(sticker, attached_edit(sticker, landmarks))
    assert rest is None  # a sticker alone: nothing travels by the correspondence
    assert ops.split_attached(style, attached_edit(style, landmarks))[0] is None


def test_a_replaced_reference_with_a_torn_map_does_not_tear_the_sticker(face):
    """A reference whose map into the origin sends background beside the face onto the
    sticker (flow composed through a turn) leaves specks of it there; with the face mesh's
    map the sticker lands where the mesh puts it, in one piece, and nowhere else."""
    frame, landmarks = face
    h, w = frame.shape[:2]
    delta = _sticker(landmarks, (h, w))
    origin = _origin(frame, landmarks, delta)
    ys, xs = np.nonzero(delta[..., 1] > 0)
    to_origin = identity_map(h, w)
    to_origin[h - 40:, :40] = (xs.mean(), ys.mean())  # a corner matched onto the sticker
    reference = ops.Reference(30, frame, frame, delta, origin, to_origin, None, origin.mesh,
                              origin.features)
    ident = identity_map(h, w)
    torn = ops.carry_edit(reference, ident, ident, face_leads=False)
    assert (torn.delta[h - 40:, :40, 1] > 100).all()  # the speck, through the composed map
    gone = ops.carry_edit(reference, ident, ident)  # no face on this frame (a cut)
    assert np.abs(gone.delta).max() < 1.0  # a sticker is drawn nowhere, not even as a speck
    face_map = ops.face_to_origin(origin, landmarks, se.FaceLead(), (w, h))
    carried = ops.carry_edit(reference, ident, ident, face_map=face_map)
    shown = carried.delta[..., 1] > 100
    assert not shown[h - 40:, :40].any()
    n, _ = cv2.connectedComponents(shown.astype(np.uint8))
    assert n == 2  # background and one sticker
    inter = np.count_nonzero(shown & (delta[..., 1] > 0))
    assert inter / np.count_nonzero(shown | (delta[..., 1] > 0)) > 0.95  # the same frame


def test_what_a_replacement_inpainted_does_not_smear_a_sticker(face):
    """A reference taken by ARR holds, where the old reference did not see, an inpainted
    edit: a smear of the sticker off the face. The mesh carries the whole of an edit that is
    all on the face, so the smear is not shown."""
    frame, landmarks = face
    h, w = frame.shape[:2]
    delta = _sticker(landmarks, (h, w))
    origin = _origin(frame, landmarks, delta)
    own = delta.copy()
    own[h - 60:h - 20, 40:120] = (0.0, 200.0, 0.0)  # the smear, far below the face
    known = np.full((h, w), 255, np.uint8)
    known[h - 80:, :160] = 0  # what the old reference did not see
    reference = ops.Reference(30, frame, frame, own, origin, identity_map(h, w), known,
                              origin.mesh, origin.features)
    ident = identity_map(h, w)
    assert (ops.carry_edit(reference, ident, ident, face_leads=False)
            .delta[h - 60:h - 20, 40:120, 1] > 100).all()  # through the composed map: it shows
    face_map = ops.face_to_origin(origin, landmarks, se.FaceLead(), (w, h))
    carried = ops.carry_edit(reference, ident, ident, face_map=face_map)
    assert np.abs(carried.delta[h - 80:, :160]).max() < 1.0
    assert (carried.delta[..., 1] > 100).sum() > 0.9 * (delta[..., 1] > 0).sum()


def test_the_face_map_reaches_as_far_as_the_sticker_overhangs_and_no_farther(face):
    """face_to_origin maps only around the face (the face-attached edit lands nowhere else):
    a sticker overhanging the jaw by half its size still comes back whole, and pixels far
    from the face map off the origin."""
    frame, landmarks = face
    h, w = frame.shape[:2]
    delta = np.zeros((h, w, 3), np.float32)
    x, y = np.round(0.7 * landmarks[172] + 0.3 * landmarks[205]).astype(int)  # by the jaw
    cv2.circle(delta, (int(x), int(y)), int(interocular(landmarks) * 0.45), (0, 200, 0), -1)
    mesh = WarpMesh.build(landmarks, w, h)
    edited = np.clip(frame + delta, 0, 255).astype(np.uint8)
    origin = ops.encode_reference(0, frame, edited, frame, mesh, FlowCorrespondence()).origin
    assert origin.attached_delta is not None and origin.attached_reach > 0.1
    face_map = ops.face_to_origin(origin, landmarks, se.FaceLead(), (w, h))
    carried = ops.carry_edit(ops.Reference(0, frame, edited, delta, origin, None, None, mesh,
                                           origin.features), face_map, face_map,
                             face_map=face_map)
    shown, drawn = carried.delta[..., 1] > 20, origin.delta[..., 1] > 20  # (after clipping)
    assert np.count_nonzero(shown & drawn) / np.count_nonzero(shown | drawn) > 0.97
    assert off_reference(face_map[:8]).all() and off_reference(face_map[:, -8:]).all()


def test_a_strand_of_hair_does_not_split_the_sticker_in_residual_mode(face):
    """The live frame differs from the origin under the sticker by a dark line (a strand of
    hair moved across the cheek): residual mode would draw it through the sticker; the
    face-attached edit shows the user's pixels plus only the smooth part of the change."""
    frame, landmarks = face
    h, w = frame.shape[:2]
    delta = _sticker(landmarks, (h, w))
    origin = _origin(frame, landmarks, delta)
    face_map = ops.face_to_origin(origin, landmarks, se.FaceLead(), (w, h))
    reference = ops.Reference(0, frame, origin.edited, delta, origin, None, None, origin.mesh,
                              origin.features)
    ident = identity_map(h, w)
    carried = ops.carry_edit(reference, ident, ident, face_map=face_map)
    live = frame.copy()
    x, y = np.round(landmarks[205]).astype(int)
    live[:, x - 1:x + 2] = 20  # a dark strand through the sticker's centre
    plain = ops.propagate(reference, carried, ident, live, "residual")
    before = carried.delta.copy()  # the sticker alone: the delta is the face's part itself
    opaque = ops.opaque_on_face(carried, origin, face_map, live, 15.0)
    np.testing.assert_array_equal(carried.on_face, before)  # left as carried
    kept = ops.propagate(reference, opaque, ident, live, "residual")
    sticker = delta[..., 1] > 0
    line = np.zeros((h, w), bool)
    line[:, x - 1:x + 2] = True
    on = sticker & line
    assert np.abs(plain[on].astype(int) - origin.edited[on]).max() > 100  # split in two
    assert np.abs(kept[on].astype(int) - origin.edited[on]).max() < 40
    off = ~cv2.dilate(sticker.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    np.testing.assert_array_equal(kept[off], plain[off])  # off the sticker: as before


def test_the_editor_carries_a_sticker_through_replacements_in_one_piece():
    """End to end on the synthetic moving portrait, a new reference every 5 frames: the
    sticker is one piece on every frame."""
    frames, _ = synthetic.clip(24)
    config = se.EditorConfig(mode="residual",
                             replacement=se.ReplacementConfig(interval=5))
    with LandmarkTracker() as tracker:
        landmarks = tracker.detect(frames[0])
    delta = _sticker(landmarks, frames[0].shape[:2], (-255.0, -255.0, 255.0))  # pure blue
    edited = np.clip(frames[0] + delta, 0, 255).astype(np.uint8)
    with se.StreamEditor(config) as editor:
        editor.set_reference(frames[0], edited)
        for frame in frames[1:]:
            out = editor.process(frame).frame
            blue = (out[..., 2].astype(int) - out[..., :2].max(axis=2) > 120)
            n, _, stats, _ = cv2.connectedComponentsWithStats(blue.astype(np.uint8))
            pieces = np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= 20)
            assert pieces == 1, pieces
        assert len(editor.stats.reference_ids) > 2


def test_where_the_origin_did_not_see_the_face_part_is_not_added_twice(face):
    """A replaced reference with a style and a sticker: where its pixels were not traced to the
    origin, the reference's own edit fills in for the style, less its sticker (the mesh carries
    that); the same on the host and on torch tensors."""
    frame, landmarks = face
    h, w = frame.shape[:2]
    sticker = _sticker(landmarks, (h, w))
    style = np.zeros_like(sticker)
    style[:40] = 25.0
    origin = _origin(frame, landmarks, sticker + style)
    known = np.full((h, w), 255, np.uint8)
    known[:, : w // 2] = 0  # the left half, with the sticker's cheek, was inpainted
    own = sticker * 0.9 + 7.0  # the reference's own edit there: its sticker and a tint
    reference = ops.Reference(30, frame, frame, own, origin, identity_map(h, w), known,
                              origin.mesh, origin.features)
    ident = identity_map(h, w)
    face_map = ops.face_to_origin(origin, landmarks, se.FaceLead(), (w, h))
    carried = ops.carry_edit(reference, ident, ident, face_map=face_map)
    on = sticker[..., 1] > 0
    np.testing.assert_allclose(carried.delta[on], sticker[on], atol=1.0)  # the sticker once
    left = ~on & (np.arange(w)[None, :] < w // 2 - 8)
    left[:60] = False
    assert np.allclose(carried.delta[left], 7.0, atol=0.01)  # the tint, where not traced
    torch = pytest.importorskip("torch")
    from streamedit_sdk.sides.torch import TorchOps
    xp = TorchOps("cpu")
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in
         {"own": own, "ident": ident, "known": known, "frame": frame,
          "face": face_map}.items()}
    origin_t = dataclasses.replace(origin, **{k: torch.from_numpy(getattr(origin, k)) for k in
                                              ("delta", "attached_delta", "rest_delta")})
    reference_t = ops.Reference(30, t["frame"], t["frame"], t["own"], origin_t, t["ident"],
                                t["known"], origin.mesh, origin.features)
    on_device = ops.carry_edit(reference_t, t["ident"], t["ident"], xp, face_map=t["face"])
    np.testing.assert_allclose(on_device.delta.numpy(), carried.delta, atol=1e-3)
