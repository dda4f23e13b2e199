"""SIGINT / SIGTERM as a request to stop after the frame in hand, not as a crash.

Long loops (``edit``, ``stream``) finish the frame they hold, finalise their outputs and
report, then the command exits with 128 + the signal number (130 for Ctrl-C, 143 for
SIGTERM), as a shell expects.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(reason: str | None) -> int:
    """128 + signal number for a stop by ``reason`` ('SIGINT', 'SIGTERM'); 0 otherwise."""
    if reason is None or reason not in signal.Signals.__members__:
        return 0
    return 128 + int(signal.Signals[reason])


class StopSignals:
    """Context manager: while inside, SIGINT / SIGTERM set ``reason`` (the signal's name) and
    call ``on_stop(reason)`` instead of raising. A second signal restores the usual behaviour
    (a second Ctrl-C raises KeyboardInterrupt). Installs nothing off the main thread, where
    Python cannot receive signals.
    """

    def __init__(self, on_stop: Callable[[str], None] | None = None) -> None:
        self.reason: str | None = None
        self._on_stop = on_stop
        self._previous: dict[int, object] = {}

    def _handle(self, signum, _frame) -> None:
        name = signal.Signals(signum).name
        if self.reason is not None:  # asked twice: stop now
            raise KeyboardInterrupt(name)
        self.reason = name
        if self._on_stop is not None:
            self._on_stop(name)

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
