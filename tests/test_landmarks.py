"""LandmarkTracker: a face too small for the face mesh's own detector is found and followed."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from streamedit_sdk.apps import synthetic
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.frames import to_work
from streamedit_sdk.perception.landmarks import NUM_LANDMARKS, LandmarkTracker


def _small_face_frame(dx: int = 0) -> np.ndarray:
    """The astronaut photo at 380 px on a plain 1024x1024 frame: its face (~70 px) is too small
    for the face mesh's short-range detector, large enough for the full-range one."""
    frame = np.full((1024, 1024, 3), 200, np.uint8)
    small = cv2.resize(synthetic.astronaut(), (380, 380), interpolation=cv2.INTER_AREA)
    frame[300:680, 350 + dx:730 + dx] = small
    return frame


def _fake_face(cx, cy, size, frame=(200, 100)):
    """A face as the landmarker returns it: landmarks scattered over a box (frame px of a
    ``frame`` = (width, height) frame; the centre and size in relative units)."""
    rng = np.random.default_rng(int(size * 1000))
    pts = rng.uniform(-0.5, 0.5, (NUM_LANDMARKS, 2)) * size + (cx, cy)
    return (pts * frame).astype(np.float32)


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


def _spread_under_shifts(work_side: int, from_source: bool) -> float:
    """RMS spread (px of the 1024-px frame) of a small face's landmarks, tracked over the same
    frame moved by known sub-pixel shifts and moved back: how much they jitter."""
    shifts = np.random.default_rng(1).uniform(-2.0, 2.0, (8, 2))
    base = _small_face_frame()
    points = []
    with LandmarkTracker() as tracker:
        for t in shifts:
            moved = cv2.warpAffine(base, np.float32([[1, 0, t[0]], [0, 1, t[1]]]), (1024, 1024),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            work = to_work(moved, work_side)
            lm = tracker.track(work, moved if from_source else None)
            assert lm is not None
            points.append(lm[:468] * (1024 / work.shape[1]) - t)
    points = np.stack(points)
    return float(np.sqrt(((points - points.mean(0)) ** 2).sum(2).mean()))


def _gap_to_source(frame: np.ndarray, work_side: int) -> float:
    """Mean distance (work px) between a small face's landmarks tracked at work size with the
    crop cut from ``frame`` and those of ``frame`` meshed itself, scaled to work px."""
    work = to_work(frame, work_side)
    with LandmarkTracker() as a, LandmarkTracker() as b:
        for _ in range(3):
            on_work, on_source = a.track(work, frame), b.track(frame)
    assert b._small is not None  # the premise: the crop path
    scale = np.float32([work.shape[1] / frame.shape[1], work.shape[0] / frame.shape[0]])
    return float(np.linalg.norm(on_work - on_source * scale, axis=1).mean())


def test_a_small_face_is_meshed_on_the_source_frame_pixels():
    """Given the frame at its own size, a small face's crop is taken from it: landmarks in
    work px as before, and steadier (a face ~25 px wide at work size: the landmarker sees it
    at 70 px instead)."""
    frame = _small_face_frame()
    # the same face, in work px (meshing the source frame itself gives the source's px)
    assert _gap_to_source(frame, 384) < 0.1
    # a frame whose work size rounds its sides differently (730x1200 -> 311x512: x / 2.347,
    # y / 2.344): each axis scaled by its own factor (one factor for both: 0.6 px off at the chin)
    tall = np.full((1200, 730, 3), 200, np.uint8)
    tall[700:1080, 170:550] = frame[300:680, 350:730]
    assert _gap_to_source(tall, 512) < 0.1
    # a source no larger than the work frame changes nothing
    work = to_work(tall, 512)
    with LandmarkTracker() as a, LandmarkTracker() as b:
        np.testing.assert_array_equal(a.detect(work, work), b.detect(work))
    steady, jittery = _spread_under_shifts(384, True), _spread_under_shifts(384, False)
    assert steady < 0.7 * jittery, (steady, jittery)


def test_of_several_faces_the_largest_is_taken():
    """The documented choice: several faces in the frame, the largest is edited."""
    small, large = _fake_face(0.2, 0.5, 0.1), _fake_face(0.7, 0.5, 0.3)
    mesh = SimpleNamespace(find=lambda rgb: [small, large])
    pts = LandmarkTracker._run(mesh, np.zeros((100, 200, 3), np.uint8))
    assert pts.shape == (NUM_LANDMARKS, 2) and 100 < pts[:, 0].mean() < 180


def test_two_real_faces_the_larger_is_tracked():
    img = synthetic.astronaut()
    canvas = np.full((512, 1024, 3), 40, np.uint8)
    canvas[:, 512:] = img
    canvas[50:350, 50:350] = cv2.resize(img, (300, 300), interpolation=cv2.INTER_AREA)
    with LandmarkTracker() as tracker:
        for found in (tracker.detect(canvas), tracker.track(canvas)):
            assert found is not None and found[:, 0].min() > 512  # the full-size face


def test_one_face_tracker_follows_the_same_face():
    """max_faces=1 (the low-latency mode) tracks what the default tracker tracks on a one-face
    clip, and rejects a count below one."""
    frames = synthetic.clip(8)[0]
    with LandmarkTracker() as many, LandmarkTracker(max_faces=1) as one:
        for frame in frames:
            a, b = many.track(frame), one.track(frame)
            assert a is not None and b is not None
            assert np.linalg.norm(a - b, axis=1).mean() < 1.0
    with pytest.raises(ValueError, match="max_faces"):
        LandmarkTracker(max_faces=0)


def test_a_reference_is_measured_as_the_stream_will_measure_it(tracker):
    """A landmarker following one face in video mode moves its points away from where it
    detected them on an unchanged image; a reference measured by ``reference`` sits where
    tracking settles, so an edit on a still face does not move. (Following up to three faces,
    MediaPipe's video mode re-detects every frame, and the three agree.)"""
    frame = synthetic.astronaut()

    def gap(a, b):
        return float(np.linalg.norm(a - b, axis=1).mean())

    with LandmarkTracker(max_faces=1) as one:
        detected, settled = one.detect(frame), one.reference(frame)
        tracked = [one.track(frame) for _ in range(6)][-1]
        assert gap(tracked, detected) > 0.2  # the premise (measured 0.34 px)
        assert gap(tracked, settled) < 0.5 * gap(tracked, detected)
    tracker.reset()
    settled = tracker.reference(frame)
    tracked = [tracker.track(frame) for _ in range(6)][-1]
    assert gap(tracked, settled) < 0.1
    small = _small_face_frame()  # found in a crop: as detected
    np.testing.assert_array_equal(tracker.reference(small), tracker.detect(small))


def test_the_face_being_followed_keeps_the_edit_when_a_larger_one_appears():
    """A larger face entering the frame (or a false face growing in the background of a
    panning shot, as on s18_camera) does not take the edit from the face being tracked; a
    fresh stream takes the largest."""
    small, large = _fake_face(0.2, 0.5, 0.1), _fake_face(0.7, 0.5, 0.3)
    seen = iter([[small], [small, large], [large, small], [small, large]])
    frame = np.zeros((100, 200, 3), np.uint8)
    with LandmarkTracker() as tracker:
        tracker._video.close()
        tracker._video = SimpleNamespace(
            find=lambda rgb: next(seen),
            close=lambda: None)
        for _ in range(3):
            assert tracker.track(frame)[:, 0].mean() < 60  # the small face, followed
        tracker._last = None  # (what reset() forgets, with the video graph)
        assert tracker.track(frame)[:, 0].mean() > 100  # nothing followed: the largest


def test_the_editor_meshes_a_small_face_on_the_frame_it_is_given(monkeypatch):
    """The editor hands its tracker the frame at its own size beside the work frame, for the
    reference and for every frame (process and the stream's mesh thread)."""
    frame = _small_face_frame()
    given = []
    with StreamEditor(EditorConfig(work_side=384)) as editor:
        tracker = editor._observer.trackers[0]
        for name in ("track", "reference"):
            real = getattr(tracker, name)

            def spy(work, full=None, _real=real, _name=name):
                given.append((_name, work.shape, None if full is None else full.shape))
                return _real(work, full)
            monkeypatch.setattr(tracker, name, spy)
        editor.set_reference(frame, frame)
        assert editor.process(frame).face_found
        assert all(r.face_found for r in editor.stream(iter([frame, frame])))
    assert [name for name, *_ in given] == ["reference", "track", "track", "track"]
    assert all(work == (384, 384, 3) and full == frame.shape for _, work, full in given)
