"""The garbage collector helpers for live applications."""

from __future__ import annotations

import gc
import time

from streamedit_sdk.apps import collector


def test_freeze_takes_what_is_alive_out_of_full_collections():
    try:
        frozen = collector.freeze()
        assert frozen == gc.get_freeze_count() > 1000  # at least the interpreter's own
        before = time.perf_counter()
        gc.collect()
        assert time.perf_counter() - before < 1.0
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_pause_recorder_sees_full_collections_only():
    with collector.PauseRecorder() as pauses:
        gc.collect(0)
        gc.collect(1)
        assert pauses.pauses == []
        start = time.perf_counter()
        gc.collect()
        end = time.perf_counter()
    assert len(pauses.pauses) == 1
    began, seconds = pauses.pauses[0]
    assert start <= began < end and 0 < seconds <= end - start
    assert pauses.within(start, end) == seconds and pauses.within(end, end + 1) == 0
    gc.collect()  # after the recorder is closed: not recorded
    assert len(pauses.pauses) == 1
