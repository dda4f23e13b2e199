"""What a viewer sees at reference switches: the output's excess change, frame by frame.

For frames t >= 1, excess(t) = mean |O_t - O_{t-1}| - mean |I_t - I_{t-1}| in grey levels
(0..255, over every pixel and channel): how much more the edited video changes than the input.
A steady edit keeps it near a small constant (the edges a style draws move with the face); a
reference switch that does not continue the edit shows as a spike at the switch frame, and a
propagation that decays into a switch as a rise before it. The eval's ``consistency`` pass
measures it for a built-in style (replace mode) and for a drawn edit (a moustache and a dot,
in the mode :meth:`~streamedit_sdk.edits.EditSpec.mode_for` picks for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPIKE_ABOVE = 3.0  # grey levels above the clip's median excess: a frame a viewer sees pop


@dataclass
class ExcessChange:
    """Accumulates excess(t) for one edited video; :meth:`add` once per frame, in order."""

    mode: str = "replace"  # the propagation mode the edit was carried in
    excess: list[float] = field(default_factory=list)  # frames 1..N-1
    switches: list[int] = field(default_factory=list)  # frames where a new reference took over
    _prev: tuple[np.ndarray, np.ndarray] | None = None
    _prev_ref: int | None = None

    def add(self, frame: np.ndarray, output: np.ndarray, reference_id: int) -> None:
        """frame, output: (H, W, 3) uint8 input and edited frame; reference_id: the reference
        the output came from (a change marks a switch)."""
        cur = (frame.astype(np.int16), output.astype(np.int16))
        if self._prev is not None:
            moved_in = float(np.abs(cur[0] - self._prev[0]).mean())
            moved_out = float(np.abs(cur[1] - self._prev[1]).mean())
            self.excess.append(moved_out - moved_in)
            if reference_id != self._prev_ref:
                self.switches.append(len(self.excess))  # this frame's index in the video
        self._prev, self._prev_ref = cur, reference_id

    def summary(self) -> dict:
        """median / max excess, the frames more than :data:`SPIKE_ABOVE` above the median
        (``spikes``), the excess at switch frames, the per-frame series (``excess``, frames
        1..N-1, 0.01 grey levels)."""
        e = np.asarray(self.excess, np.float64)
        if e.size == 0:
            return {"mode": self.mode, "frames": 0}
        med = float(np.median(e))
        # the switch frame and the one after it (where a switch that does not continue the
        # edit shows, with swap_delay 0)
        at_switch = [float(max(e[i - 1:i + 1])) for i in self.switches]
        return {"mode": self.mode, "frames": int(e.size) + 1,
                "excess_median": round(med, 3), "excess_max": round(float(e.max()), 3),
                "max_above_median": round(float(e.max()) - med, 3),
                "spikes": int((e > med + SPIKE_ABOVE).sum()),
                "switches": len(self.switches), "switch_frames": list(self.switches),
                "switch_excess_max": round(max(at_switch), 3) if at_switch else None,
                "switch_excess_median": (round(float(np.median(at_switch)), 3)
                                         if at_switch else None),
                "excess": [round(float(x), 2) for x in e]}
