"""SIGINT / SIGTERM / SIGHUP as a request to stop, never as a crash that loses a file.

Long loops (``edit``, ``stream``) finish the frame they hold, finalise their outputs and
report, then the command exits with 128 + the signal number (130 for Ctrl-C, 143 for
SIGTERM, 129 for SIGHUP: a closed terminal or ssh session), as a shell expects.

A signal never raises inside the guarded block: an exception thrown at an arbitrary
bytecode (the old second Ctrl-C's KeyboardInterrupt) could land inside the muxer or the
MediaPipe shutdown and lose every frame written so far. A second signal asks to stop at once
(``again``): the loop drops the frames it holds instead of finishing them, and the outputs
are still finalised with every frame already written. Only SIGKILL loses the run (and a
later run to the same output removes the partial file it left:
:func:`~streamedit_sdk.io.paths.remove_stale_partials`).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Callable

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


def exit_status(reason: str | None) -> int:
    """128 + signal number for a stop by ``reason`` ('SIGINT', 'SIGTERM', 'SIGHUP'); 0
    otherwise."""
    if reason is None or reason not in signal.Signals.__members__:
        return 0
    return 128 + int(signal.Signals[reason])


class StopSignals:
    """Context manager: while inside, SIGINT / SIGTERM / SIGHUP never raise.

    The first sets ``reason`` (the signal's name) and calls ``on_stop(reason)``; every later
    one counts in ``again``, calls ``on_again(name)`` and writes ``notice`` (when set) on
    stderr, so a user pressing Ctrl-C twice learns that the file is being finished rather
    than lost. Installs nothing off the main thread, where Python cannot receive signals.
    The handlers run on the main thread between bytecodes: they only set flags.
    """

    def __init__(self, on_stop: Callable[[str], None] | None = None,
                 on_again: Callable[[str], None] | None = None,
                 notice: str | None = None) -> None:
        self.reason: str | None = None
        self.again = 0  # signals after the first: stop at once, still finalising the outputs
        self.notice = notice  # said on stderr at each repeated signal
        self._on_stop, self._on_again = on_stop, on_again
        self._previous: dict[int, object] = {}

    def _handle(self, signum, _frame) -> None:
        name = signal.Signals(signum).name
        if self.reason is None:
            self.reason = name
            if self._on_stop is not None:
                self._on_stop(name)
            return
        self.again += 1
        if self._on_again is not None:
            self._on_again(name)
        if self.notice:
            _tell(f"another signal ({name}): {self.notice}\n")

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def _tell(text: str) -> None:
    """Write ``text`` on stderr from a signal handler: one unbuffered write (print could
    re-enter a write in progress), silent where the terminal is gone (SIGHUP)."""
    try:
        os.write(2, text.encode())
    except OSError:
        pass
