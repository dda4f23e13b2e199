"""A progress bar on stderr for long work (frames of a video), with no dependency.

``frames  123/450  27%  |#####               |  21.4 frame/s  0:15 left``, redrawn in place at
most five times a second and erased when done (the command's summary line follows).
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TextIO, TypeVar

T = TypeVar("T")
REDRAW_S = 0.2  # seconds between redraws
WIDTH = 20  # characters of the bar itself


class Progress:
    """Counts frames; draws ``desc``, the count (of ``total`` when known), the rate and the
    time left. Draws nothing with ``enabled=False`` (``-q``) or when ``stream`` (default
    stderr) is not a terminal, so logs stay clean, and stops drawing when the terminal goes
    away."""

    def __init__(self, desc: str, total: int | None = None, *, enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        self.desc, self.total, self.count = desc, total, 0
        self._out = stream or sys.stderr
        self._enabled = enabled and self._out.isatty()
        self._start = self._drawn = time.monotonic()
        self._width = 0

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if self._enabled and now - self._drawn >= REDRAW_S:
            self._drawn = now
            self._draw(now)

    def close(self) -> None:
        """Erase the bar."""
        if self._enabled and self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0

    def _write(self, text: str) -> None:
        """Draw; a terminal that is gone (SIGHUP, a closed pipe) turns the bar off instead of
        failing the work it reports on."""
        try:
            self._out.write(text)
            self._out.flush()
        except (OSError, ValueError):
            self._enabled = False

    def _draw(self, now: float) -> None:
        rate = self.count / max(now - self._start, 1e-9)
        text = f"{self.desc}  {self.count}"
        if self.total:
            done = min(self.count / self.total, 1.0)
            filled = int(done * WIDTH)
            left = (self.total - self.count) / rate if rate > 0 else 0.0
            text += (f"/{self.total}  {done:4.0%}  |{'#' * filled}{' ' * (WIDTH - filled)}|  "
                     f"{rate:.1f} frame/s  {int(left // 60)}:{int(left % 60):02d} left")
        else:
            text += f" frames  {rate:.1f} frame/s"
        self._write("\r" + text.ljust(self._width))
        self._width = len(text)


def track(items: Iterable[T], desc: str, total: int | None = None, *,
          enabled: bool = True) -> Iterator[T]:
    """``items``, counted on a :class:`Progress` bar that is erased at the end."""
    bar = Progress(desc, total, enabled=enabled)
    try:
        for item in items:
            yield item
            bar.update()
    finally:
        bar.close()
