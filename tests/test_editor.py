"""StreamEditor on the synthetic astronaut clip, whose true correspondence is known."""

from __future__ import annotations

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk import edits
from streamedit_sdk.apps import synthetic
from streamedit_sdk.perception.landmarks import CHEEK_LEFT, LandmarkTracker
from streamedit_sdk.timing import StageTimer

FRAMES = 40


@pytest.fixture(scope="module")
def clip():
    frames, maps = synthetic.clip(FRAMES)
    with LandmarkTracker() as tracker:
        landmarks = tracker.detect(frames[0])
    assert landmarks is not None, "MediaPipe must find the astronaut's face"
    edited = edits.place_sticker(frames[0], landmarks, edits.default_sticker())
    return frames, maps, landmarks, edited


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-9))


def _run(frames, edited, reference=None, **config):
    with se.StreamEditor(se.EditorConfig(**config)) as ed:
        ed.set_reference(frames[0] if reference is None else reference, edited)
        return [ed.process(f) for f in frames], ed.stats


# The synthetic warp fades with distance from the head's centre: no face mesh follows that
# exactly (MediaPipe's cheek points come from the face's shape, not the cheek's texture), so a
# sticker led by the mesh alone (the default) scores 25.8-37.1 dB here (median 27.8) and one
# the flow may correct (FaceLead.bound 0.05) 29.6-38.3 dB (median 32.6). On real faces the mesh puts cheek stickers where the
# face's mesh says (eval's fidelity pass); a sticker left in place scores ~20 dB.
@pytest.mark.parametrize("mode,bound,floor,gain", [("replace", 0.0, 22.0, 4.0),
                                                   ("residual", 0.0, 22.0, 4.0),
                                                   ("replace", 0.05, 26.0, 6.0),
                                                   ("residual", 0.05, 26.0, 6.0)])
def test_sticker_follows_known_motion(clip, mode, bound, floor, gain):
    frames, maps, landmarks, edited = clip
    results, stats = _run(frames, edited, mode=mode, face_lead=se.FaceLead(bound=bound))
    assert len(results) == FRAMES and stats.frames == FRAMES
    cx, cy = np.round(landmarks[CHEEK_LEFT]).astype(int)
    box = (slice(cy - 40, cy + 40), slice(cx - 40, cx + 40))
    epe = [np.linalg.norm(r.map[box] - m[box], axis=-1).mean() for r, m in zip(results, maps)]
    truth = [synthetic.render(edited, m) for m in maps]
    psnr = [_psnr(r.frame[box], t[box]) for r, t in zip(results, truth)]
    assert max(epe) < 1.5, epe  # the correspondence (photometric) is the flow's either way
    assert min(psnr) > floor, psnr
    still = [_psnr(edited[box], t[box]) for t in truth]
    assert np.mean(psnr) > np.mean(still) + gain


def test_result_fields(clip):
    frames, _, _, edited = clip
    results, _ = _run(frames[:3], edited)
    r = results[1]
    h, w = frames[0].shape[:2]
    assert r.frame.shape == (h, w, 3) and r.frame.dtype == np.uint8
    assert r.map.shape == (h, w, 2) and r.map.dtype == np.float32 and np.isfinite(r.map).all()
    assert r.sigma.shape == (h, w) and (r.sigma > 0).all()
    assert (r.index, r.reference_id, r.replaced, r.face_found) == (1, 0, False, True)
    assert 0.0 <= r.uncertain_fraction <= 1.0


def test_still_head_keeps_reference(clip):
    frames, _, _, edited = clip
    still = [frames[0]] * 30
    _, stats = _run(still, edited, replacement=se.ReplacementConfig(min_gap=5))
    assert stats.reference_ids == [0]


def test_occluder_triggers_replacement(clip):
    """A hand-like blob slides over the face: the reference must be replaced."""
    frames, _, landmarks, edited = clip
    seq = []
    cx, cy = landmarks[CHEEK_LEFT]
    yy, xx = np.mgrid[:frames[0].shape[0], :frames[0].shape[1]]
    for t in range(40):
        f = frames[0].copy()
        x = min(60 + 8 * t, cx + 20)  # slides in from the left, then rests on the face
        blob = ((xx - x) ** 2 / 70 ** 2 + (yy - cy) ** 2 / 110 ** 2) < 1
        f[blob] = (200, 60, 180)
        seq.append(f)
    _, stats = _run([frames[0]] + seq, edited, replacement=se.ReplacementConfig(min_gap=5))
    assert len(stats.reference_ids) >= 2, stats.reference_ids


def test_replacement_disabled(clip):
    frames, _, _, edited = clip
    occluded = frames[0].copy()
    occluded[:, :300] = 0
    _, stats = _run([occluded] * 20, edited, reference=frames[0],
                    replacement=se.ReplacementConfig(enabled=False, min_gap=1))
    assert stats.reference_ids == [0]


def test_bgr_round_trip(clip):
    frames, _, _, edited = clip
    rgb, _ = _run(frames[:2], edited)
    bgr, _ = _run([f[..., ::-1] for f in frames[:2]], edited[..., ::-1], color_order="bgr")
    assert np.array_equal(bgr[1].frame[..., ::-1], rgb[1].frame)


def test_the_edit_returns_whole_when_the_face_comes_back(clip):
    """The face leaves (grey frames: ARR takes a reference without a face) and comes back: the
    user's edited frame is the reference again and the sticker is where it was drawn."""
    frames, _, landmarks, edited = clip
    grey = np.full_like(frames[0], 128)
    stream = [frames[0]] * 3 + [grey] * 20 + [frames[0]] * 3
    config = dict(mode="residual", replacement=se.ReplacementConfig(min_gap=3, window=2))
    results, stats = _run(stream, edited, **config)
    assert any(r.reference_id > 0 for r in results[3:23]), "ARR took a faceless reference"
    back = results[-1]
    assert back.reference_id == 0 and stats.reference_ids[-1] == 0
    cx, cy = np.round(landmarks[CHEEK_LEFT]).astype(int)
    box = (slice(cy - 40, cy + 40), slice(cx - 40, cx + 40))
    before = _psnr(results[2].frame[box], edited[box])  # the same frame, before it left
    # measured: 32.7 dB both (the faceless reference's maps instead: 19.8)
    assert _psnr(back.frame[box], edited[box]) > before - 1.0 and before > 28.0


def test_full_refine_brings_the_map_of_a_large_frame_closer_to_the_truth(clip):
    """Frames twice the work size: Lucas-Kanade steps at the frame's own resolution take the
    scaled-up map closer to the true one where the photo has texture, and each frame's
    reconstruction (the reference warped by the map) closer to the frame; timed as a stage."""
    frames, maps, _, _ = clip
    errors, psnr = {}, {}
    gray = synthetic.astronaut().astype(np.float32).mean(axis=2)
    textured = np.hypot(*np.gradient(gray)) > 8.0
    for steps in (0, 2):
        timer = StageTimer()
        with se.StreamEditor(se.EditorConfig(work_side=256, full_refine=steps,
                                             replacement=se.ReplacementConfig(enabled=False)),
                             timer=timer) as ed:
            ed.set_reference(frames[0], frames[0])
            results = [ed.process(f) for f in frames[1:FRAMES:4]]
        errors[steps] = np.median([np.median(np.linalg.norm(r.map - t, axis=2)[textured])
                                   for r, t in zip(results, maps[1:FRAMES:4])])
        psnr[steps] = np.mean([_psnr(r.frame, f) for r, f in zip(results, frames[1:FRAMES:4])])
        assert ("full_refine" in timer.summary()) == (steps > 0)
    assert errors[2] < 0.85 * errors[0], errors  # 0.30 -> 0.24 px
    assert psnr[2] > psnr[0] + 1.0, psnr  # 36.7 -> 40.7 dB


def test_frames_larger_than_the_work_size_are_refined_by_default(clip):
    """The default configuration refines at the frame's resolution only where that differs
    from the work size (a 512 px frame at work side 512 has nothing to gain)."""
    frames = clip[0]
    for work_side, refined in ((256, True), (max(frames[0].shape[:2]), False)):
        timer = StageTimer()
        with se.StreamEditor(se.EditorConfig(work_side=work_side), timer=timer) as ed:
            ed.set_reference(frames[0], frames[0])
            ed.process(frames[1])
        assert ("full_refine" in timer.summary()) == refined
