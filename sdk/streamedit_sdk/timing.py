"""Per-stage wall-clock timing of the editor, for benchmarks (``streamedit bench``)."""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import numpy as np


class Timer(Protocol):
    """What the editor and the correspondence models time their stages with."""

    def stage(self, name: str) -> AbstractContextManager[None]: ...


class NullTimer:
    """Times nothing (the default): ``stage`` is a no-op context manager."""

    def stage(self, name: str) -> AbstractContextManager[None]:
        return nullcontext()


@dataclass(frozen=True)
class StageStats:
    """Latency of one stage over its calls, milliseconds."""

    count: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


class StageTimer:
    """Records the duration of every ``with timer.stage(name):`` block, per name.

    Safe to share between the editor's thread and its pipelining worker (appends only).
    ``sync``: called at the start and end of every stage (e.g. ``torch.cuda.synchronize``) so
    that stages of asynchronous GPU work are timed, not their launches; it serialises the
    work, so time throughput without a timer. Only stages on the thread that made the timer
    sync: the editor's workers run host work (face mesh, segmentation), and a sync there would
    wait for the GPU work the frame's thread queued meanwhile.
    """

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.samples: dict[str, list[float]] = {}  # stage -> durations, seconds
        self._sync = sync
        self._owner = threading.get_ident()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        sync = self._sync if threading.get_ident() == self._owner else None
        if sync is not None:
            sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            if sync is not None:
                sync()
            self.samples.setdefault(name, []).append(time.perf_counter() - start)

    def clear(self) -> None:
        self.samples = {}

    def summary(self) -> dict[str, StageStats]:
        """p50 / p99 / mean per stage, in the order the stages were first seen."""
        return {name: percentiles(values) for name, values in self.samples.items() if values}


class FrameStages:
    """Host wall time per stage of the frames passed on the thread that made it, without any
    device sync: what each frame's thread spent where (on the GPU backends the waits for the
    device show in the stage that waits, e.g. ``download``). Worker stages are not recorded.
    :meth:`take` returns the stages since the last call, ms, a nested stage both on its own
    and within the stage around it.
    """

    def __init__(self) -> None:
        self._owner = threading.get_ident()
        self._ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if threading.get_ident() != self._owner:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            self._ms[name] = self._ms.get(name, 0.0) + (time.perf_counter() - start) * 1e3

    def take(self) -> dict[str, float]:
        taken, self._ms = self._ms, {}
        return taken


def percentiles(seconds: list[float]) -> StageStats:
    """:class:`StageStats` of durations given in seconds (must not be empty)."""
    ms = np.asarray(seconds, np.float64) * 1e3
    return StageStats(len(ms), float(np.percentile(ms, 50)), float(np.percentile(ms, 99)),
                      float(ms.mean()))
