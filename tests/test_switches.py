"""Reference switches a viewer cannot see (issue 41): a style carried in replace mode does not
jump when ARR takes a new reference, even when the picture changed since the user's frame."""

from __future__ import annotations

import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.eval.switches import ExcessChange
from streamedit_sdk.core import ops
from streamedit_sdk.core.fade import SwitchFade
from streamedit_sdk.edits.spec import EditSpec


@pytest.fixture(scope="module")
def brightening() -> list[np.ndarray]:
    """The synthetic face clip with the light rising by 2 levels a frame."""
    return [np.clip(f.astype(int) + 2 * t, 0, 255).astype(np.uint8)
            for t, f in enumerate(synthetic.clip(40)[0])]


def _switch_jumps(frames: list[np.ndarray], fade: int) -> tuple[float, list[float]]:
    """Cartoon on a fixed 8-frame schedule: the median excess change and the excess on the
    first frame matched against each new reference."""
    spec = EditSpec(style="cartoon")
    cfg = se.EditorConfig(mode="replace",
                          replacement=se.ReplacementConfig(interval=8, fade_frames=fade))
    excess = ExcessChange()
    with se.StreamEditor(cfg, inpainter=spec.inpainter()) as editor:
        editor.set_reference(frames[0], spec.apply(frames[0]))
        for frame in frames:
            out = editor.process(frame)
            excess.add(frame, out.frame, out.reference_id)
    e = np.asarray(excess.excess)
    return float(np.median(e)), [float(e[k]) for k in excess.switches if k < len(e)]


def test_a_style_does_not_jump_at_a_switch_when_the_light_changed(brightening):
    median, jumps = _switch_jumps(brightening, fade=4)
    assert len(jumps) == 4 and max(jumps) <= median + 3.0


def test_without_the_origins_frame_under_the_edit_every_switch_jumps(brightening, monkeypatch):
    """What it fixes: the new reference's own frame under the origin's edit shows every change
    of the light since the user's frame at once, at the switch."""
    monkeypatch.setattr(ops, "replace_base", lambda rgb, *args, **kwargs: rgb)
    median, jumps = _switch_jumps(brightening, fade=0)
    assert min(jumps) > median + 6.0


def test_a_fade_spreads_the_jump_over_its_frames():
    fade = SwitchFade(4)
    h, w = 8, 8
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32),
                                np.arange(h, dtype=np.float32)), -1)
    fade.switched(10, np.full((h, w, 3), 200, np.uint8))
    now = np.full((h, w, 3), 100, np.uint8)
    seen = [int(fade.apply(10, now, grid)[0, 0, 0]) for _ in range(5)]
    assert seen == [180, 160, 140, 120, 100]  # 4/5 .. 1/5 of the way back, then none
    fade.switched(20, np.full((h, w, 3), 200, np.uint8))
    hidden = np.zeros((4, 4), np.float32)  # an occluder everywhere: the edit stays off it
    assert int(fade.apply(20, now, grid, hidden)[0, 0, 0]) == 100
    assert fade.apply(30, now, grid) is now  # another reference: the fade is over
    assert SwitchFade(0).apply(10, now, grid) is now
