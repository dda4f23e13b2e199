"""Python's cyclic garbage collector and real-time frames.

With torch, MediaPipe and an editor loaded a process tracks about 250,000 objects, and a full
collection, which stops every thread, scans them all: 111-120 ms on the 2-core CI machine. It
comes rarely but unannounced, and on a live source one such pause delays the frames queued
behind it too. :func:`freeze` (``gc.freeze``) moves the objects alive at set-up out of its
reach, so that full collections scan only what was allocated since (0.2 ms after a freeze
here). Call it once, after the editors are set up; the editor never calls it for you: it is
process-wide. :class:`PauseRecorder` measures the collector's pauses.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)


def freeze() -> int:
    """``gc.collect()`` then ``gc.freeze()``; returns the number of objects frozen. Objects
    frozen are never collected (undo with ``gc.unfreeze()``): call it after set-up, not in a
    loop."""
    gc.collect()
    gc.freeze()
    count = gc.get_freeze_count()
    log.info("garbage collector: %d objects frozen (full collections scan only newer ones)",
             count)
    return count


class PauseRecorder:
    """Records the collector's pauses of generation 2 (full collections) while open.

    ``pauses``: (start, seconds) per full collection, ``time.perf_counter`` clock.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []
        self._started: float | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> "PauseRecorder":
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._callback)

    def within(self, start: float, end: float) -> float:
        """Seconds of full collections that began between ``start`` and ``end``."""
        with self._lock:
            return sum(d for t, d in self.pauses if start <= t < end)

    def _callback(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        now = time.perf_counter()
        if phase == "start":
            self._started = now
        elif self._started is not None:
            with self._lock:
                self.pauses.append((self._started, now - self._started))
            self._started = None
