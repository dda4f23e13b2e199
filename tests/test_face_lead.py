"""Geometry first on the face: the mesh leads, flow only corrects smoothly and within a bound."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic
from streamedit_sdk.correspondence.face_lead import (INNER_LIPS, face_mask, interocular, led_map,
                                                     openings)
from streamedit_sdk.maps import identity_map
from streamedit_sdk.perception.landmarks import LandmarkTracker


@pytest.fixture(scope="module")
def face():
    """The astronaut's photo, grey, and its landmarks."""
    frame = synthetic.astronaut()
    with LandmarkTracker() as tracker:
        landmarks = tracker.detect(frame)
    assert landmarks is not None
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
    out = led_map(se.FaceLead(), flow, mesh, gray, gray, landmarks)
    lm = np.round(landmarks).astype(int)
    brows = out[lm[[105, 334], 1], lm[[105, 334], 0]] - mesh[lm[[105, 334], 1], lm[[105, 334], 0]]
    assert np.allclose(brows, [0.8, -0.5], atol=0.25), brows  # textured: the flow is trusted


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
