"""Bad input to the editor: clear errors or documented fallbacks, never a lost frame."""

from __future__ import annotations

import re

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic


@pytest.fixture(scope="module")
def photo():
    return synthetic.astronaut()


@pytest.fixture
def editor(photo):
    with se.StreamEditor() as ed:
        ed.set_reference(photo, photo)
        yield ed


def test_process_before_reference():
    with se.StreamEditor() as ed, pytest.raises(RuntimeError, match="set_reference"):
        ed.process(np.zeros((64, 64, 3), np.uint8))


def test_edited_reference_of_other_size(photo):
    with se.StreamEditor() as ed, pytest.raises(ValueError, match="resize the edit"):
        ed.set_reference(photo, photo[:256])


def test_reference_without_face():
    blank = np.full((256, 256, 3), 128, np.uint8)
    with se.StreamEditor() as ed, pytest.raises(se.NoFaceError, match="--ref-frame"):
        ed.set_reference(blank, blank)


def test_face_lost_mid_stream_carries_on(editor, photo):
    gray = np.full_like(photo, 90)
    results = [editor.process(f) for f in (photo, gray, gray, photo)]
    assert [r.face_found for r in results] == [True, False, False, True]
    assert editor.stats.faces_lost == 2
    assert all(r.frame.shape == photo.shape for r in results)


def test_frame_size_change_reinitialises(editor, photo, caplog):
    editor.process(photo)
    small = np.ascontiguousarray(photo[::2, ::2])
    r = editor.process(small)
    assert r.frame.shape == small.shape and r.map.shape == small.shape[:2] + (2,)
    assert editor.stats.reinitialized == 1
    assert "re-initialising" in caplog.text


@pytest.mark.parametrize("convert", [
    lambda f: f.mean(axis=2).astype(np.uint8),  # grayscale
    lambda f: np.dstack([f, np.full(f.shape[:2], 255, np.uint8)]),  # RGBA
])
def test_grayscale_and_rgba_frames(editor, photo, convert):
    r = editor.process(convert(photo))
    assert r.frame.shape == photo.shape and r.frame.dtype == np.uint8


def test_bad_frames_are_named(editor):
    with pytest.raises(ValueError, match="frame must be an image"):
        editor.process(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        editor.process(np.full((8, 8, 3), np.nan, np.float32))


def test_closed_editor(photo):
    ed = se.StreamEditor()
    ed.close()
    ed.close()
    with pytest.raises(RuntimeError, match="closed"):
        ed.set_reference(photo, photo)


def test_reset_restarts_stream(editor, photo):
    editor.process(photo)
    editor.reset()
    r = editor.process(photo)
    assert r.index == 0 and editor.stats.frames == 1 and editor.stats.reference_ids == [0]


@pytest.mark.parametrize("kwargs, match", [
    ({"backend": "trt", "correspondence": "flow"}, "runs on the host"),
    ({"backend": "nope"}, "backend must be one of"),
    ({"mode": "blend"}, "mode must be one of"),
    ({"work_side": 10}, "work_side"),
    ({"replacement": se.ReplacementConfig}, "ReplacementConfig"),
])
def test_config_validation(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        se.EditorConfig(**kwargs)


def test_replacement_hysteresis_validation():
    with pytest.raises(ValueError, match="hysteresis"):
        se.ReplacementConfig(replace_above=0.05, rearm_below=0.1)


@pytest.mark.parametrize("backend", ["ort-cpu", "torch-cpu"])
def test_nan_from_the_engine_passes_the_frame_through(backend):
    """A faulty engine (NaN or inf out of the network) costs that frame its edit, nothing
    more: the frame goes out unedited, is counted, and the next frames are edited again."""
    if backend == "torch-cpu":
        pytest.importorskip("torch", reason="the device pipeline runs on torch tensors")
    from streamedit_sdk import edits
    from streamedit_sdk.apps import synthetic
    from streamedit_sdk.correspondence.base import Correspondence

    frames = synthetic.clip(8)[0]
    with se.StreamEditor(se.EditorConfig(backend=backend)) as ed:
        ed.set_reference(frames[0], edits.apply_style("cartoon", frames[0]))
        predict = ed._model.predict
        calls = []

        def faulty(*args, **kwargs):
            corr = predict(*args, **kwargs)
            calls.append(1)
            if len(calls) in (3, 4):
                bad = corr.map * float("nan") if len(calls) == 3 else corr.sigma + float("inf")
                return (Correspondence(bad, corr.sigma) if len(calls) == 3
                        else Correspondence(corr.map, bad))
            return corr
        ed._model.predict = faulty
        results = [ed.process(f) for f in frames]
        assert ed.stats.engine_faults == 2 and ed.stats.frames == 8
    assert [r.passed_through for r in results] == [False, False, True, True] + [False] * 4
    for r, f in zip(results, frames):
        diff = np.abs(r.frame.astype(int) - f).mean()
        assert (diff == 0) if r.passed_through else (diff > 5)


@pytest.mark.parametrize("field, bad, text", [
    ("work_side", 32, "[64, 4096]"), ("work_side", 600.0, "[64, 4096]"),
    ("lk_iterations", 11, "[0, 10]"), ("landmark_threads", 0, "[1, 8]"),
    ("max_faces", 9, "[1, 8]")])
def test_whole_number_settings_say_their_range(field, bad, text):
    with pytest.raises(ValueError, match=re.escape(f"{field} must be a whole number in {text}")):
        se.EditorConfig(**{field: bad})


def test_float_frames_in_0_255_are_refused_with_the_range(editor, photo):
    with pytest.raises(ValueError, match="must hold 0..1 intensities"):
        editor.process(photo.astype(np.float32))
    r = editor.process(photo.astype(np.float32) / 255.0)  # the documented range works
    assert r.face_found


def test_a_second_thread_inside_the_editor_gets_a_clear_error(editor, photo, monkeypatch):
    """Thread A is inside process(); thread B's call raises instead of corrupting memory."""
    import threading

    inside, release = threading.Event(), threading.Event()
    real = editor._edit_unguarded

    def slow(obs, *begun):
        inside.set()
        release.wait(10)
        return real(obs, *begun)
    monkeypatch.setattr(editor, "_edit_unguarded", slow)
    a = threading.Thread(target=editor.process, args=(photo,))
    a.start()
    assert inside.wait(30)
    errors = []
    for call in (lambda: editor.process(photo), editor.reset, lambda: editor.set_reference(
            photo, photo), editor.close):
        try:
            call()
        except RuntimeError as exc:
            errors.append(str(exc))
    release.set()
    a.join(30)
    assert len(errors) == 4 and all("second thread" in e for e in errors), errors
    monkeypatch.undo()
    done = []  # one thread after another is fine
    t = threading.Thread(target=lambda: done.append(editor.process(photo).face_found))
    t.start()
    t.join(30)
    assert done == [True] and editor.process(photo).face_found
