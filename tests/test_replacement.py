"""ARR decision (ReplacementPolicy) and the reused person mask, against hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.core.policy import ReplacementPolicy
from streamedit_sdk.maps import uncertain_fraction
from streamedit_sdk.perception.segmentation import ReusedMask


def _run(policy: ReplacementPolicy, fractions: list[float]) -> list[int]:
    """Frames at which the policy replaces the reference (the caller's side of the protocol)."""
    taken, ref = [], 0
    for t, f in enumerate(fractions):
        if policy.update(f, t - ref):
            taken.append(t)
            ref = t
            policy.replaced()
    return taken


def test_hysteresis_keeps_a_reference_that_stays_hard():
    cfg = se.ReplacementConfig(window=1, min_gap=2, replace_above=0.2, rearm_below=0.1)
    # high from frame 3 on: one switch, then kept (never drops below rearm_below)
    assert _run(ReplacementPolicy(cfg), [0.0] * 3 + [0.3] * 20) == [3]
    # drops below rearm_below at frame 8, rises again at 10: a second switch
    assert _run(ReplacementPolicy(cfg), [0.0] * 3 + [0.3] * 5 + [0.05] * 2 + [0.3] * 5) == [3, 10]


def test_uncertain_fraction_counts_only_the_region():
    sigma = np.zeros((4, 4), np.float32)
    sigma[:, :2] = 1.0
    region = np.zeros((4, 4), bool)
    region[:2] = True
    assert uncertain_fraction(sigma, None, 0.5) == 0.5
    assert uncertain_fraction(sigma, region, 0.5) == 0.5
    region[:, 2:] = False
    assert uncertain_fraction(sigma, region, 0.5) == 1.0
    assert uncertain_fraction(sigma, np.zeros((4, 4), bool), 0.5) == 0.5  # empty: whole frame


class _CountingSegmenter:
    def __init__(self):
        self.calls = 0

    def mask(self, rgb):
        self.calls += 1
        return np.full(rgb.shape[:2], self.calls % 2 == 1)

    def close(self):
        pass


def test_reused_mask_segments_every_nth_frame_and_on_size_changes():
    seg = _CountingSegmenter()
    reused = ReusedMask(seg, every=3)
    frame = np.zeros((8, 8, 3), np.uint8)
    masks = [reused.mask(frame) for _ in range(7)]
    assert seg.calls == 3  # frames 0, 3, 6
    assert masks[1] is masks[0] and masks[2] is masks[0] and masks[3] is not masks[0]
    assert reused.mask(np.zeros((4, 8, 3), np.uint8)).shape == (4, 8)  # new size: segmented
    assert seg.calls == 4
    reused.reset()
    reused.mask(np.zeros((4, 8, 3), np.uint8))
    assert seg.calls == 5


def test_region_every_is_validated():
    with pytest.raises(ValueError, match="region_every"):
        se.ReplacementConfig(region_every=0)
