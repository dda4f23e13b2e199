"""LandmarkTracker: a face too small for the face mesh's own detector is found and followed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamedit_sdk import synthetic
from streamedit_sdk.landmarks import LandmarkTracker


def _small_face_frame(dx: int = 0) -> np.ndarray:
    """The astronaut photo at 380 px on a plain 1024x1024 frame: its face (~70 px) is too small
    for the face mesh's short-range detector, large enough for the full-range one."""
    frame = np.full((1024, 1024, 3), 200, np.uint8)
    small = cv2.resize(synthetic.astronaut(), (380, 380), interpolation=cv2.INTER_AREA)
    frame[300:680, 350 + dx:730 + dx] = small
    return frame


@pytest.fixture(scope="module")
def tracker():
    with LandmarkTracker() as t:
        yield t


def test_small_face_is_found_then_followed_in_a_crop(tracker):
    tracker.reset()
    assert tracker._run(tracker._still, _small_face_frame()) is None  # the premise
    detected = tracker.detect(_small_face_frame())
    assert detected is not None, "the full-range detector must find the small face"
    first = tracker.track(_small_face_frame())
    assert first is not None and tracker._small is not None  # now followed in a crop
    assert np.linalg.norm(first - detected, axis=1).mean() < 1.0
    moved = tracker.track(_small_face_frame(dx=6))
    assert moved is not None
    shift = (moved - first).mean(axis=0)
    assert abs(shift[0] - 6) < 1.0 and abs(shift[1]) < 1.0
    # the face leaves: lost, and the next frame with a face is found again
    assert tracker.track(np.full((1024, 1024, 3), 200, np.uint8)) is None
    assert tracker._small is None
    assert tracker.track(_small_face_frame()) is not None
