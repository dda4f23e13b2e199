"""The SDK's own progress bar: drawn on a terminal, erased at the end, silent elsewhere."""

from __future__ import annotations

import io

from streamedit_sdk.apps import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_count_rate_and_time_left_on_a_terminal_then_erases(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)
    out = _Terminal()
    bar = progress.Progress("clip.mp4", 4, stream=out)
    for _ in range(3):
        bar.update()
    text = out.getvalue()
    assert "clip.mp4  3/4" in text and "75%" in text and "frame/s" in text and "left" in text
    bar.close()
    assert out.getvalue().endswith("\r")  # the line was blanked and the cursor returned


def test_silent_when_not_a_terminal_or_disabled(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)
    for out, enabled in ((io.StringIO(), True), (_Terminal(), False)):
        bar = progress.Progress("x", 2, stream=out, enabled=enabled)
        bar.update()
        bar.close()
        assert out.getvalue() == ""


def test_track_yields_every_item_and_counts_without_a_total(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)
    monkeypatch.setattr("sys.stderr", _Terminal())
    assert list(progress.track(iter("abc"), "frames")) == ["a", "b", "c"]
