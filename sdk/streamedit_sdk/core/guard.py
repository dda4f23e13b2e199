"""One thread at a time inside an editor: a second thread gets a clear error, not a crash.

The editor's MediaPipe graphs, OpenCV optical-flow objects and native kernels keep per-stream
state that two threads would corrupt (seen as ``munmap_chunk(): invalid pointer`` or a
segfault). The guard costs a lock round trip per call (about a microsecond).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class SingleThreadGuard:
    """Re-entrant on its owner thread; raises ``RuntimeError`` when another thread enters while
    the owner is inside."""

    def __init__(self, owner: str) -> None:
        self._name = owner  # what is guarded, for the message ("StreamEditor")
        self._lock = threading.Lock()
        self._thread: int | None = None
        self._depth = 0

    @contextmanager
    def __call__(self, method: str) -> Iterator[None]:
        me = threading.get_ident()
        with self._lock:
            if self._thread not in (None, me):
                raise RuntimeError(
                    f"{self._name}.{method}() was called from a second thread while another "
                    f"thread is inside this {self._name}: one {self._name} serves one stream "
                    "from one thread at a time; create one per thread (or serialise the calls)")
            self._thread = me
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._thread = None
