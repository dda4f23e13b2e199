"""A reference switch faded in over a few frames (ARR, paper §3.2; issue 41).

At a switch the output's source changes: the maps into the origin are matched afresh (a drift
of the old chain is corrected), and the frames before it are the worst the old reference
gave. Whatever differs then shows as a jump on the frame after the switch. The new
reference is the frame the switch happened on, so the map of every later frame into it is the
motion since that frame: the output of the switch frame, carried by that map, is what the
viewer saw, where it is now. :class:`SwitchFade` mixes it into the next ``frames`` outputs
with a weight falling from ``frames / (frames + 1)`` to ``1 / (frames + 1)``, so the jump is
spread over them instead of landing in one.
"""

from __future__ import annotations

import cv2
import numpy as np

from streamedit_sdk.core.ops import HOST


class SwitchFade:
    """One stream's fade after a reference switch. ``frames``: how many outputs it spans (0:
    none). Call :meth:`switched` with the switch frame's output, then :meth:`apply` on every
    output (it does nothing once the fade is over or the reference changes again)."""

    def __init__(self, frames: int) -> None:
        self._frames = frames
        self._held: tuple[int, np.ndarray] | None = None  # (reference index, its output)
        self._step = 0

    def switched(self, reference: int, output: np.ndarray) -> None:
        """Reference ``reference`` (a stream index) takes over; ``output`` (H, W, 3) uint8 is
        that frame's output (kept: pass a copy if its buffer is reused)."""
        self._held = (reference, output) if self._frames > 0 else None
        self._step = 0

    def clear(self) -> None:
        """No fade (a new stream, a new edit)."""
        self._held = None

    def running(self, reference: int) -> bool:
        """Whether a fade into reference ``reference`` has outputs left to mix (a fade into
        another reference is over)."""
        if self._held is not None and self._held[0] != reference:
            self._held = None
        return self._held is not None

    def apply(self, reference: int, output: np.ndarray, full_map: np.ndarray,
              visible: np.ndarray | None = None) -> np.ndarray:
        """``output`` (H, W, 3) uint8 host of a frame matched against ``reference`` by
        ``full_map`` ((H, W, 2) float32 host, reference px), mixed with the switch frame's
        output carried by that map. ``visible``: (h, w) float32 0..1 work size, where the face
        is visible, or None: the mix stays off what hides the face (the edit must not come
        back onto a hand). Returns the new output (``output`` itself when no fade runs)."""
        if self._held is None or self._held[0] != reference:
            self._held = None
            return output
        self._step += 1
        weight = 1.0 - self._step / (self._frames + 1)
        held = self._held[1]
        if self._step >= self._frames:
            self._held = None
        carried = HOST.grid_sample(held, full_map, fallback=output)
        mix = HOST.subtract(carried, output)
        mix *= np.float32(weight)
        if visible is not None:
            h, w = output.shape[:2]
            if visible.shape != (h, w):
                visible = cv2.resize(visible, (w, h), interpolation=cv2.INTER_LINEAR)
            mix *= visible[..., None]
        return HOST.add_delta(output, mix)
