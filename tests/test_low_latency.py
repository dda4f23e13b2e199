"""Low latency: lagged landmarks and reference replacements built on a worker thread."""

from __future__ import annotations

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk import edits, kernels
from streamedit_sdk.apps import synthetic
from streamedit_sdk.core import ops
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.perception.landmarks import NUM_LANDMARKS

BACKENDS = ["ort-cpu", "torch-cpu", "torch-cuda"]


@pytest.fixture(scope="module")
def frames():
    return synthetic.clip(18)[0]


def _editor(config, frames, **kwargs):
    ed = se.StreamEditor(config, **kwargs)
    ed.set_reference(frames[0], edits.apply_style("teal-orange", frames[0]))
    return ed


def _config(backend="ort-cpu", interval=5, delay=0, lagged=False):
    if backend.startswith("torch"):
        torch = pytest.importorskip("torch", reason=f"{backend} needs torch (the train extra)")
        if backend == "torch-cuda" and not (kernels.cuda_available()
                                            and torch.cuda.is_available()):
            pytest.skip("torch-cuda needs a GPU, torch with CUDA and the CUDA kernels")
    return se.EditorConfig(backend=backend, lagged_landmarks=lagged,
                           replacement=se.ReplacementConfig(interval=interval, swap_delay=delay))


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.array_equal(x.frame, y.frame)
        assert (x.reference_id, x.replaced, x.index) == (y.reference_id, y.replaced, y.index)


# -- configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"swap_delay": -1}, "swap_delay"), ({"swap_delay": 31}, "swap_delay"),
    ({"swap_delay": 1.5}, "swap_delay"), ({"swap_delay": 5, "interval": 5}, "shorter than"),
])
def test_swap_delay_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        se.ReplacementConfig(**kwargs)


def test_low_latency_config():
    config = se.EditorConfig().low_latency()
    assert config.lagged_landmarks and config.replacement.swap_delay == 3
    assert config.max_faces == 1 and se.EditorConfig().max_faces == 3
    short = se.EditorConfig(replacement=se.ReplacementConfig(interval=2)).low_latency()
    assert short.replacement.swap_delay == 1  # clamped below the interval
    with pytest.raises(TypeError, match="lagged_landmarks"):
        se.EditorConfig(lagged_landmarks=1)
    for bad in (0, 9, 1.0):
        with pytest.raises(ValueError, match="max_faces"):
            se.EditorConfig(max_faces=bad)


# -- lagged landmarks ------------------------------------------------------------------------
def _spy(monkeypatch, ed):
    """Record what the tracker returned, frame by frame, and what each warp used."""
    tracked, warped = [], []
    track = ed._observer.trackers[0].track

    def recording_track(work, full=None):
        out = track(work, full)
        tracked.append(out)
        return out

    def recording_warp(mesh, landmarks, *args):
        warped.append(landmarks)
        return real_warp(mesh, landmarks, *args)

    real_warp = ops.landmark_map
    monkeypatch.setattr(ed._observer.trackers[0], "track", recording_track)
    monkeypatch.setattr(ops, "landmark_map", recording_warp)
    return tracked, warped


@pytest.mark.parametrize("lagged", [False, True])
def test_lagged_landmarks_warp_with_the_frame_before(monkeypatch, frames, lagged):
    with _editor(_config(interval=6, lagged=lagged), frames) as ed:
        tracked, warped = _spy(monkeypatch, ed)
        results = [ed.process(f) for f in frames[:9]]
        assert len(tracked) == len(warped) == 9 and all(t is not None for t in tracked)
        for t, used in enumerate(warped):
            source = max(t - 1, 0) if lagged else t  # the first frame has none before it
            assert used is tracked[source], f"frame {t}"
        # the frame taken as a new reference (6) keeps its own landmarks as the mesh
        assert results[6].replaced
        assert np.array_equal(ed._refs.current.mesh.points_ref[:NUM_LANDMARKS], tracked[6])


@pytest.mark.parametrize("backend", BACKENDS)
def test_lagged_process_and_stream_agree(frames, backend):
    config = _config(backend, interval=7, lagged=True)
    with _editor(config, frames) as ed:
        plain = [ed.process(f) for f in frames]
        assert ed.stats.reference_ids == [0, 7, 14]
        ed.reset()
        _same(plain, list(ed.stream(frames)))
    with _editor(_config(backend, interval=7), frames) as ed:
        eager = [ed.process(f) for f in frames]
    # one frame of motion: the outputs differ, a little
    diff = [np.abs(a.frame.astype(int) - b.frame.astype(int)).mean()
            for a, b in zip(plain, eager)]
    assert 0 < max(diff) < 4


def test_lagged_landmarks_survive_a_size_change(frames):
    small = [f[::2, ::2].copy() for f in frames[4:8]]
    with _editor(_config(lagged=True), frames) as ed:
        out = [ed.process(f).frame.shape[0] for f in frames[:4] + small + frames[8:10]]
    assert out == [512] * 4 + [256] * 4 + [512] * 2


# -- deferred reference swaps ----------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_swap_delay_only_delays_the_inpainted_edit(frames, backend):
    """The next frame takes the new reference, frame t + d its inpainted edit: every output
    but those of t + 1 .. t + d - 1, and those the switch frame's output fades into (t + 1 ..
    t + fade_frames, in replace mode), is the one swap_delay 0 gives, bit for bit."""
    with _editor(_config(backend, interval=5), frames) as ed:
        now = [ed.process(f) for f in frames[:16]]
    with _editor(_config(backend, interval=5, delay=3), frames) as ed:
        later = []
        for f in frames[:16]:
            later.append(ed.process(f))
            if later[-1].index == 6:  # provisional: frame 5's edit as carried
                assert np.array_equal(ed.reference_edit, later[5].frame)
            if later[-1].index == 8:  # inpainted: what swap_delay 0 made at frame 5
                assert np.array_equal(ed.reference_edit, now[5].frame)
        assert ed.stats.reference_ids == [0, 5, 10]  # 15 is taken by frame 16
    assert [r.reference_id for r in later] == [0] * 6 + [5] * 5 + [10] * 5
    assert [i for i, r in enumerate(later) if r.replaced] == [5, 10, 15]
    fade = se.ReplacementConfig().fade_frames
    # outputs before the inpainted edit is in, and those the picked frame's output (as
    # carried, not inpainted) fades into
    waiting = {t + k for t in (5, 10) for k in range(1, max(3, fade + 1))}
    for a, b in zip(now, later):
        if b.index in waiting:
            continue
        if b.replaced:  # the picked frame itself: its edit as carried, not inpainted
            continue
        assert np.array_equal(a.frame, b.frame), b.index
    # what waits differs, and only a little (the pixels the old reference did not see)
    for t in sorted(waiting):
        diff = np.abs(now[t].frame.astype(int) - later[t].frame).mean()
        assert diff < 2.0, t


@pytest.mark.parametrize("delay", [0, 3])
def test_a_new_reference_is_triangulated_off_the_frame_thread(monkeypatch, frames, delay):
    """With swap_delay the landmark triangulation of a new reference (about 1 ms) is made on
    the reference worker, before its inpainting; with 0, where the frame waits anyway."""
    import threading

    from streamedit_sdk.core import builder as reference_builder

    threads = []
    triangulate = ops.reference_mesh

    def recording(*args):
        threads.append(threading.current_thread().name)
        return triangulate(*args)

    monkeypatch.setattr(reference_builder.ops, "reference_mesh", recording)
    with _editor(_config(interval=5, delay=delay, lagged=True), frames) as ed:
        threads.clear()  # set_reference's own
        for f in frames[:8]:
            ed.process(f)
    assert len(threads) == 1  # frame 5's, and nothing else
    assert threads[0].startswith("streamedit-reference") == (delay > 0), threads


def test_reset_drops_a_reference_being_built(frames):
    with _editor(_config(interval=5, delay=3), frames) as ed:
        for f in frames[:7]:
            ed.process(f)
        ed.reset()
        assert ed.stats.reference_ids == [0]
        out = [ed.process(f) for f in frames[:9]]
        assert [r.reference_id for r in out] == [0] * 6 + [5] * 3


class _Broken:
    def inpaint(self, image, mask):
        raise RuntimeError("inpainter out of order")


def test_a_failing_inpainter_surfaces_at_the_swap(frames):
    with _editor(_config(interval=5, delay=2), frames, inpainter=_Broken()) as ed:
        for f in frames[:7]:
            ed.process(f)
        with pytest.raises(RuntimeError, match="out of order"):
            ed.process(frames[7])


def test_low_latency_on_a_real_clip(clips):
    clip = [f for _, f in zip(range(45), VideoReader(clips / "s13_fullbody.mp4"))]
    config = se.EditorConfig().low_latency()
    with _editor(config, clip) as ed:
        plain = [ed.process(f) for f in clip]
        assert ed.stats.references > 1, "the dancing clip must trigger ARR"
        ed.reset()
        _same(plain, list(ed.stream(clip)))
    for t in (r.index for r in plain if r.replaced):  # the next frame takes it
        assert plain[t].reference_id != t
        if t + 1 < len(plain):
            assert plain[t + 1].reference_id == t
