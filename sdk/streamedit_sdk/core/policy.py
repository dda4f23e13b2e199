"""Adaptive reference replacement (paper §3.2): the decision, separate from the mechanics."""

from __future__ import annotations

from collections import deque

import numpy as np

from streamedit_sdk.config import ReplacementConfig


class ReplacementPolicy:
    """Sliding-window trigger with hysteresis and a minimum gap (see :class:`ReplacementConfig`).

    Call :meth:`update` once per frame with the frame's uncertain fraction and its distance in
    frames from the current reference; when it returns True the caller replaces the reference
    and calls :meth:`replaced`. With ``config.interval`` the schedule is fixed instead: a new
    reference whenever the current one is ``interval`` frames away.
    """

    def __init__(self, config: ReplacementConfig) -> None:
        self._cfg = config
        self._scores: deque[float] = deque(maxlen=config.window)
        self._armed = True

    @property
    def windowed(self) -> float:
        """Mean uncertain fraction over the window (0 before the first frame)."""
        return float(np.mean(self._scores)) if self._scores else 0.0

    def update(self, fraction: float, distance: int) -> bool:
        """fraction: this frame's uncertain fraction; distance: |frame - reference| in frames."""
        cfg = self._cfg
        self._scores.append(fraction)
        if not cfg.enabled:
            return False
        if cfg.interval:
            return distance >= cfg.interval
        avg = self.windowed
        if not self._armed and avg < cfg.rearm_below:
            self._armed = True
        return self._armed and distance >= cfg.min_gap and avg > cfg.replace_above

    def replaced(self) -> None:
        """A new reference was taken: its frames start a new window; disarm (hysteresis)."""
        self._scores.clear()
        self._armed = False

    def reset(self) -> None:
        self._scores.clear()
        self._armed = True
