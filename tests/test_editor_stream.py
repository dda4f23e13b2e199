"""``StreamEditor.stream`` (pipelined), stage timing and the fixed replacement schedule."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk import edits
from streamedit_sdk.apps import synthetic
from streamedit_sdk.core.policy import ReplacementPolicy
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.timing import FrameStages, StageTimer


@pytest.fixture(scope="module")
def frames():
    return synthetic.clip(24)[0]


def _results(frames, config, pipelined=None, timer=None):
    with se.StreamEditor(config, timer=timer) as ed:
        ed.set_reference(frames[0], edits.apply_style("teal-orange", frames[0]))
        if pipelined is None:
            results = [ed.process(f) for f in frames]
        else:
            results = list(ed.stream(frames, pipelined=pipelined))
        return results, ed.stats


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.array_equal(x.frame, y.frame)
        assert (x.reference_id, x.replaced, x.index) == (y.reference_id, y.replaced, y.index)


def test_pipelined_stream_gives_the_same_frames(frames):
    config = se.EditorConfig(replacement=se.ReplacementConfig(interval=7))
    plain, stats = _results(frames, config)
    _assert_same(plain, _results(frames, config, pipelined=True)[0])
    _assert_same(plain, _results(frames, config, pipelined=False)[0])
    assert stats.reference_ids == [0, 7, 14, 21]


def test_pipelined_stream_on_a_real_clip_with_replacements(clips):
    clip = [f for _, f in zip(range(45), VideoReader(clips / "s13_fullbody.mp4"))]
    plain, stats = _results(clip, se.EditorConfig())
    assert stats.references > 1, "the dancing clip must trigger ARR"
    _assert_same(plain, _results(clip, se.EditorConfig(), pipelined=True)[0])


def test_the_flow_begins_beside_the_face_mesh_and_gives_the_same_frames(frames):
    """process() starts DIS from the previous frame's map while the face mesh measures the
    frame on its thread; a frame whose reference changes meanwhile (a replacement) is
    matched afresh. The frames are those of the pipelined stream, which measures first."""
    config = se.EditorConfig(replacement=se.ReplacementConfig(interval=5))
    timer = StageTimer()
    plain, stats = _results(frames[:14], config, timer=timer)
    _assert_same(plain, _results(frames[:14], config, pipelined=True)[0])
    assert stats.reference_ids == [0, 5, 10]
    # every frame with a prior map waited for its mesh: all but the first on each reference
    assert timer.summary()["landmarks_wait"].count == 14 - 3


def test_the_stream_begins_the_next_frame_while_this_one_is_edited(frames):
    """stream() begins frame t + 1's flow on its flow thread from frame t's map while frame t
    is edited; frames whose reference changed meanwhile are begun again on the frame's thread.
    The frames are those of process()."""
    config = se.EditorConfig(replacement=se.ReplacementConfig(interval=5))
    plain, _ = _results(frames[:14], config)
    threads = []
    with se.StreamEditor(config) as ed:
        begin = ed._model.begin

        def recorded(*args):
            threads.append(threading.current_thread().name)
            return begin(*args)
        ed._model.begin = recorded
        ed.set_reference(frames[0], edits.apply_style("teal-orange", frames[0]))
        _assert_same(plain, list(ed.stream(frames[:14])))
        assert ed.stats.reference_ids == [0, 5, 10]
    ahead = sum(name.startswith("streamedit-flow") for name in threads)
    # frames 2-5, 8-10 and 13 follow a frame that was begun against the same reference:
    # begun ahead (6 and 11, begun ahead against the reference replaced meanwhile, are matched
    # again here, as are the first frames of each reference and the re-matches of a
    # replacement)
    assert ahead >= 8 and "MainThread" in threads, threads


def test_the_flow_may_start_from_the_face_mesh_on_every_frame(frames):
    mesh = se.EditorConfig(flow_start="mesh")
    timer = StageTimer()
    from_mesh, _ = _results(frames[:8], mesh, timer=timer)
    assert "landmarks_wait" not in timer.summary()  # the mesh first, then the flow
    previous, _ = _results(frames[:8], se.EditorConfig())
    assert np.array_equal(from_mesh[0].frame, previous[0].frame)  # no prior: the same start
    for a, b in zip(from_mesh[1:], previous[1:]):  # two starts of one flow: close frames
        assert np.abs(a.frame.astype(int) - b.frame).mean() < 1.5
    with pytest.raises(ValueError, match="flow_start"):
        se.EditorConfig(flow_start="landmarks")


@pytest.mark.parametrize("threads", [1, 3])
def test_stream_handles_a_size_change(frames, threads):
    small = [f[::2, ::2].copy() for f in frames[4:8]]
    mixed = frames[:4] + small + frames[8:10]
    config = se.EditorConfig(landmark_threads=threads, color_order="bgr")
    results, stats = _results(mixed, config, pipelined=True)
    assert [r.frame.shape[0] for r in results] == [512] * 4 + [256] * 4 + [512] * 2
    assert [r.index for r in results] == list(range(10))
    assert stats.reinitialized == 2
    plain, _ = _results(mixed, config)  # frames redone after a size change keep their colours
    assert np.abs(results[5].frame.astype(int) - plain[5].frame).mean() < 2.0


def test_two_landmark_threads_track_as_well_as_one(frames):
    config = se.EditorConfig(replacement=se.ReplacementConfig(interval=7))
    one, stats_one = _results(frames, config, pipelined=True)
    two, stats_two = _results(frames, se.EditorConfig(
        landmark_threads=2, replacement=se.ReplacementConfig(interval=7)), pipelined=True)
    assert [r.index for r in two] == list(range(len(frames)))
    assert stats_two.reference_ids == stats_one.reference_ids == [0, 7, 14, 21]
    assert stats_two.faces_lost == 0
    for a, b in zip(one, two):  # each mesh saw every other frame: landmarks differ a little
        assert np.abs(a.frame.astype(int) - b.frame).mean() < 1.5


@pytest.mark.parametrize("threads", [1, 2])
def test_stream_can_stop_early_and_the_editor_goes_on(frames, threads):
    with se.StreamEditor(se.EditorConfig(landmark_threads=threads)) as ed:
        ed.set_reference(frames[0], frames[0])
        for r in ed.stream(frames):
            if r.index == 3:
                break
        assert ed.process(frames[5]).index == 4  # the pipelined frame 4 was never edited


@pytest.mark.parametrize("correspondence", ["flow", "ppce"])
def test_timer_records_every_stage(frames, correspondence):
    timer = StageTimer()
    config = se.EditorConfig(correspondence=correspondence,
                             replacement=se.ReplacementConfig(interval=5))
    _results(frames[:12], config, timer=timer)
    stages = timer.summary()
    for name in ("convert", "resize", "landmarks", "segmentation", "landmark_warp",
                 "propagation", "uncertainty"):
        assert stages[name].count == 12, name
        assert 0 < stages[name].p50_ms <= stages[name].p99_ms
    assert stages["reference_update"].count == 2  # frames 5 and 10
    # the second replacement re-matches the new reference against the origin: one more call
    assert stages["flow"].count == stages["refine"].count == stages["face_lead"].count == 13
    if correspondence == "flow":
        assert stages["sigma"].count == 13
    else:
        assert stages["head"].count == 13
        # the backbone also encodes each of the three references (the first and two
        # replacements)
        assert stages["backbone"].count == 13 + 3


@pytest.mark.parametrize("reference, expected", [(0, [4, 8]), (5, [0, 4, 8])])
def test_fixed_schedule_keeps_references_within_the_interval(reference, expected):
    policy = ReplacementPolicy(se.ReplacementConfig(interval=4))
    taken, ref = [], reference
    for t in range(11):
        if policy.update(0.0, abs(t - ref)):
            taken.append(t)
            ref = t
            policy.replaced()
    assert taken == expected


def test_interval_is_validated():
    with pytest.raises(ValueError, match="interval"):
        se.ReplacementConfig(interval=-1)


def _stage_on_a_worker(timer, name):
    """A stage timed on another thread than the timer's (as the editor's workers do)."""
    import threading

    def host_stage():
        with timer.stage(name):
            pass

    worker = threading.Thread(target=host_stage)
    worker.start()
    worker.join()


def test_stage_timer_syncs_only_on_its_own_thread():
    """Workers time host stages (face mesh): a device sync there would wait for the GPU."""
    import threading

    calls = []
    timer = StageTimer(sync=lambda: calls.append(threading.get_ident()))
    with timer.stage("match"):
        pass
    _stage_on_a_worker(timer, "landmarks")
    assert calls == [threading.get_ident()] * 2
    assert set(timer.samples) == {"match", "landmarks"}


def test_frame_stages_keep_the_frame_threads_stages_per_frame():
    """The live bench's per-frame breakdown: owner thread only, nested stages counted in both,
    repeated stages summed, and take() starts the next frame afresh."""
    import time

    stages = FrameStages()
    with stages.stage("reference_update"):
        with stages.stage("match"):
            time.sleep(0.002)
    with stages.stage("match"):
        time.sleep(0.001)
    _stage_on_a_worker(stages, "landmarks")
    first = stages.take()
    assert set(first) == {"reference_update", "match"}
    assert first["match"] >= 3.0 and first["reference_update"] >= 2.0
    assert first["match"] > first["reference_update"] - 0.5  # the nested one plus its own
    assert stages.take() == {}
