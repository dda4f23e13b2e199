"""Geometry first on the face: the mesh leads, flow only corrects smoothly and within a bound."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.core import ops
from streamedit_sdk.core.inpaint import OpenCVInpainter, as_edit_inpainter
from streamedit_sdk.correspondence import face_lead
from streamedit_sdk.correspondence.face_lead import (INNER_LIPS, attached_edit, face_mask,
                                                     interocular, led_map, openings)
from streamedit_sdk.correspondence.flow import FlowReference
from streamedit_sdk.maps import identity_map, off_reference


@pytest.fixture(scope="module")
def face(astronaut_face):
    """The astronaut's photo, grey, and its landmarks."""
    frame, landmarks = astronaut_face
    return frame, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), landmarks


def test_a_drag_on_the_face_is_held_to_the_bound(face):
    _, gray, landmarks = face
    H, W = gray.shape
    lead = se.FaceLead()
    mesh = identity_map(H, W)
    flow = mesh.copy()
    cx, cy = np.round(landmarks[205]).astype(int)  # the left cheek
    flow[cy - 6:cy + 6, cx - 6:cx + 6, 1] += 20.0  # flow drags a patch of cheek 20 px down
    out = led_map(lead, flow, mesh, gray, gray, landmarks)
    moved = np.linalg.norm(out - mesh, axis=2)
    inside = face_mask(landmarks, W, H).astype(bool)
    assert moved[inside].max() <= lead.bound * interocular(landmarks) + 0.1  # + feather
    far = np.zeros((H, W), bool)
    far[:8, :8] = True  # a frame corner, off the face: the flow's map is kept
    np.testing.assert_allclose(out[far], flow[far])


def test_a_smooth_offset_with_texture_is_followed(face):
    _, gray, landmarks = face
    H, W = gray.shape
    mesh = identity_map(H, W)
    flow = mesh + np.float32([0.8, -0.5])  # the mesh is off by a sub-pixel shift everywhere
    out = led_map(se.FaceLead(bound=0.05), flow, mesh, gray, gray, landmarks)
    lm = np.round(landmarks).astype(int)
    brows = out[lm[[105, 334], 1], lm[[105, 334], 0]] - mesh[lm[[105, 334], 1], lm[[105, 334], 0]]
    assert np.allclose(brows, [0.8, -0.5], atol=0.25), brows  # textured: the flow is trusted


def _overhanging_sticker(landmarks, shape):
    """A filled disc over the left end of the face outline: mostly on the face, partly off."""
    delta = np.zeros(shape + (3,), np.float32)
    x, y = np.round(landmarks[234] + (landmarks[205] - landmarks[234]) * 0.35).astype(int)
    r = int(interocular(landmarks) * 0.3)
    cv2.circle(delta, (int(x), int(y)), r, (0.0, 200.0, 0.0), -1)
    return delta


def test_a_sticker_overhanging_the_face_follows_the_mesh_in_one_piece(face):
    _, gray, landmarks = face
    H, W = gray.shape
    delta = _overhanging_sticker(landmarks, (H, W))
    attached = attached_edit(delta, landmarks)
    sticker = delta[..., 1] > 0
    off_face = sticker & ~face_mask(landmarks, W, H).astype(bool)
    assert off_face.sum() > 20  # the sticker does overhang the outline
    assert attached[sticker].all() and not attached[~sticker].any()
    mesh = identity_map(H, W)
    flow = mesh.copy()
    flow[..., 1] -= 15.0  # the background drags everything off the face 15 px up
    led = led_map(se.FaceLead(), flow, mesh, gray, gray, landmarks, attached)
    np.testing.assert_allclose(led[off_face], mesh[off_face], atol=1e-3)  # the mesh leads
    free = led_map(se.FaceLead(), flow, mesh, gray, gray, landmarks)
    assert np.abs(free[off_face] - mesh[off_face]).max() > 10  # without it: torn at the edge
    far = np.zeros((H, W), bool)
    far[:8, :8] = True  # off the face and off the sticker: still the flow
    np.testing.assert_allclose(led[far], flow[far])


def test_the_led_map_is_made_only_where_it_is_used_and_is_the_same(face):
    """led_map makes the flow's detail only around the pixels of weight above 0: the result
    is the one made over the whole grown box, to the bit (a noisy flow, so the detail is
    taken in places, and an overhanging sticker, so the ring reaches off the face)."""
    _, gray, landmarks = face
    H, W = gray.shape
    rng = np.random.default_rng(3)
    mesh = identity_map(H, W)
    flow = mesh + cv2.GaussianBlur(rng.normal(0, 12, (H, W, 2)).astype(np.float32), (0, 0), 4)
    attached = attached_edit(_overhanging_sticker(landmarks, (H, W)), landmarks)
    lead = se.FaceLead()
    iod = interocular(landmarks)
    reach = lead.ring * iod
    y0, y1, x0, x1 = face_lead.grown_box(
        landmarks, reach + face_lead.smoothing_reach(lead) * iod + 12.0, W, H)
    crop = (slice(y0, y1), slice(x0, x1))
    box = face_mask(landmarks - np.float32([x0, y0]), x1 - x0, y1 - y0)
    near = face_lead.smooth_mesh(mesh[crop], lead.mesh_smooth * iod,
                                 face_lead.pixel_grid(H, W)[crop])
    ring, _ = face_lead._ring(box, reach, attached, near, flow[crop])
    weight = np.maximum(face_lead._weight(lead, box, iod), ring)
    led = face_lead._led(lead, flow[crop], near, gray[crop], gray, box.astype(np.float32), iod)
    assert 0.0 < (weight > 0).mean() < 0.8  # the restriction has something to leave out
    expected = flow.copy()
    expected[crop] = flow[crop] + (led - flow[crop]) * weight[..., None]
    out = led_map(lead, flow, mesh, gray, gray, landmarks, attached)
    on = ~off_reference(out)
    np.testing.assert_allclose(out[on], expected[on], rtol=0, atol=1e-5)
    assert np.abs(out - flow)[on].max() > 1.0  # the face did lead


def test_the_edit_on_the_face_never_lands_far_from_it(face):
    """Background beside a panning camera's face, or another face, that the flow matches onto
    the sticker must not show it: the sticker belongs to the tracked face."""
    _, gray, landmarks = face
    H, W = gray.shape
    delta = _overhanging_sticker(landmarks, (H, W))
    attached = attached_edit(delta, landmarks)
    ys, xs = np.nonzero(attached)
    mesh = identity_map(H, W)
    flow = mesh.copy()
    flow[H - 20:, :20] = (xs[0], ys[0])  # a far corner matched onto the sticker
    flow[H - 20:, 20:40] = (3.0, H - 3.0)  # beside it: matched onto plain background
    led = led_map(se.FaceLead(), flow, mesh, gray, gray, landmarks, attached)
    assert off_reference(led[H - 20:, :20]).all()  # no edit there: the live frame shows
    np.testing.assert_allclose(led[H - 20:, 20:40], flow[H - 20:, 20:40])


def test_background_next_to_the_sticker_shows_no_speck_of_it(face):
    """Just past the face outline, background the flow matches onto the sticker (a turning
    face) takes the mesh's map, which leaves the sticker where the face is."""
    _, gray, landmarks = face
    H, W = gray.shape
    delta = _overhanging_sticker(landmarks, (H, W))
    attached = attached_edit(delta, landmarks)
    ys, xs = np.nonzero(attached)
    sticker = attached.astype(bool)
    near = cv2.dilate(attached, np.ones((31, 31), np.uint8)).astype(bool)
    beside = near & ~sticker & ~face_mask(landmarks, W, H).astype(bool)
    assert beside.sum() > 50
    mesh = identity_map(H, W)
    flow = mesh.copy()
    flow[beside] = (xs[len(xs) // 2], ys[len(ys) // 2])  # matched onto the sticker
    led = led_map(se.FaceLead(), flow, mesh, gray, gray, landmarks, attached)
    np.testing.assert_allclose(led[beside], mesh[beside], atol=1e-3)


def test_a_new_reference_never_paints_the_sticker_onto_uncovered_background(face):
    """ARR takes a frame where background beside the overhanging sticker was never seen (a
    panning camera): the inpainting must not spread the sticker there, where it would stay
    on the background as a blob."""
    frame, gray, landmarks = face
    H, W = gray.shape
    delta = _overhanging_sticker(landmarks, (H, W))
    sticker = delta[..., 1] > 0
    near = cv2.dilate(sticker.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    unseen = near & ~sticker & ~face_mask(landmarks, W, H).astype(bool)
    assert unseen.sum() > 100
    features = FlowReference(gray)
    origin = ops.Origin(0, delta, features, frame)
    reference = ops.Reference(0, frame, frame, delta, origin, None, None, None, features)
    carried = ops.CarriedEdit(None, None, delta, identity_map(H, W))
    output = np.clip(frame + delta, 0, 255).astype(np.uint8)
    fill = as_edit_inpainter(OpenCVInpainter())

    def green(landmarks_or_none):
        edited, _ = ops.edit_for_new_reference(reference, carried, frame, output, unseen, fill,
                                               landmarks_or_none)
        np.testing.assert_array_equal(edited[~unseen], output[~unseen])
        return edited[unseen][:, 1].astype(float) - frame[unseen][:, 1]

    assert np.median(green(None)) > 20  # a plain fill: the sticker spreads (measured 28)
    assert np.abs(green(landmarks)).max() <= 8  # off the face: no sticker


def test_a_style_over_the_whole_frame_is_not_attached_to_the_face(face):
    _, gray, landmarks = face
    delta = np.full(gray.shape + (3,), 30.0, np.float32)  # every pixel edited: one piece
    assert not attached_edit(delta, landmarks).any()
    assert not attached_edit(np.zeros_like(delta), landmarks).any()


def test_openings_the_reference_did_not_see(face):
    frame, _, landmarks = face
    H, W = frame.shape[:2]
    opened = landmarks.copy()
    lips = list(INNER_LIPS)
    centre = landmarks[lips].mean(0)
    opened[lips] = centre + (landmarks[lips] - centre) * np.float32([1.0, 6.0])  # mouth opens
    same = identity_map(H, W)
    assert not openings(landmarks, landmarks, same).any()  # nothing new: nothing flagged
    new = openings(opened, landmarks, same)
    assert new.sum() > 20  # the opened mouth shows what the closed one hid


def test_config_checks():
    with pytest.raises(ValueError, match="bound"):
        se.FaceLead(bound=-0.1)
    with pytest.raises(TypeError, match="face_lead"):
        se.EditorConfig(face_lead=0.05)
    assert se.EditorConfig().estimator == "flow"  # the classical path is the host default
    assert se.EditorConfig(backend="torch-cpu").estimator == "ppce"
    assert se.EditorConfig(correspondence="ppce").estimator == "ppce"
    with pytest.raises(ValueError, match="runs on the host"):
        se.EditorConfig(backend="torch-cpu", correspondence="flow")
