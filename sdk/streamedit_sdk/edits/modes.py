"""Which propagation mode an edit is carried in, chosen from what the edit changes.

A local edit (a sticker, strokes, a drawn moustache) is carried as a residual: its difference
from the reference frame is warped and added to the live frame, so the face under and around
it stays live (eyes close, the mouth opens over other teeth, earrings swing). An edit that
changes the whole look (a style, a repainted frame) is carried as pixels (replace mode, the
paper's): the live frame's own colours must not show through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANGED_ABOVE = 12  # grey levels (0..255, any channel): a pixel the edit changes; JPEG noise
# of a re-saved frame stays below
RESIDUAL_UP_TO = 0.25  # share of the picture an edit changes and is still carried as residual


@dataclass(frozen=True)
class ModeChoice:
    """The propagation mode of an edit and why, in words for the summary line.

    mode: "residual" or "replace" (:data:`streamedit_sdk.config.MODES`); reason: e.g. ``the
    edit changes 3% of the picture``; share: the share of pixels it changes (0..1; None when
    the mode was not chosen by measuring)."""

    mode: str
    reason: str
    share: float | None = None

    def describe(self) -> str:
        """``carried as a difference (residual mode): the edit changes 3% of the picture``."""
        how = ("a difference (residual mode)" if self.mode == "residual"
               else "pixels (replace mode)")
        return f"carried as {how}: {self.reason}"


def changed_share(reference: np.ndarray, edited: np.ndarray) -> float:
    """The share (0..1) of pixels where ``edited`` differs from ``reference`` (both (H, W, 3)
    uint8) by more than :data:`CHANGED_ABOVE` grey levels in some channel."""
    diff = np.abs(edited.astype(np.int16) - reference.astype(np.int16)).max(axis=2)
    return float((diff > CHANGED_ABOVE).mean())


def measured_mode(reference: np.ndarray, edited: np.ndarray) -> ModeChoice:
    """Residual when the edit changes at most :data:`RESIDUAL_UP_TO` of the picture, else
    replace."""
    share = changed_share(reference, edited)
    percent = f"{share:.0%}" if share >= 0.01 or share == 0 else "under 1%"
    if share <= RESIDUAL_UP_TO:
        return ModeChoice("residual", f"the edit changes {percent} of the picture, so the "
                          "live face shows around and under it", share)
    return ModeChoice("replace", f"the edit changes {percent} of the picture", share)
