"""Adaptive reference replacement (paper §3.2): the decision, separate from the mechanics."""

from __future__ import annotations

from collections import deque

import numpy as np

from .config import ReplacementConfig


def uncertain_fraction(sigma: np.ndarray, region: np.ndarray | None, pixel_sigma: float) -> float:
    """Fraction of ``region`` (bool, like sigma; None: all) where sigma > ``pixel_sigma``."""
    bad = sigma > pixel_sigma
    n = np.count_nonzero(region) if region is not None else 0
    if not n:
        return np.count_nonzero(bad) / bad.size
    return np.count_nonzero(bad & region) / n


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
