"""``streamedit serve`` with aiortc client peers: the edit comes back, counters add up, the
edit changes without reconnecting, a full server says busy, and ended streams free everything."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

pytest.importorskip("aiortc", reason="the server's packages: pip install '.[serve]'")

from serve_peers import ServerThread, stream_clip  # noqa: E402

from streamedit_sdk.apps.serve import ServeConfig  # noqa: E402
from streamedit_sdk.edits import apply_style  # noqa: E402
from streamedit_sdk.io.video import VideoReader  # noqa: E402


@pytest.fixture(scope="module")
def frames(clips):
    return [f for _, f in zip(range(40), VideoReader(clips / "d11.mp4"))]


def _adds_up(stats: dict) -> None:
    """Every frame the browser sent was edited, passed through before a face, or dropped."""
    assert stats["frames_in"] == (stats["frames_edited"] + stats["passed_through"]
                                  + stats["dropped"] + stats["abandoned"]), stats


def _closest_input(frame: np.ndarray, frames: list[np.ndarray]) -> np.ndarray:
    return min(frames, key=lambda f: np.abs(f.astype(np.int16) - frame).mean())


def test_a_stream_comes_back_edited_and_its_counters_add_up(frames):
    with ServerThread(ServeConfig(port=0)) as server:
        run = asyncio.run(stream_clip(server.url, frames, 4.0, {"style": "sketch"}))
        assert server.get("/stats")["streams"] == []
    assert run.status == 200, run.error
    stats = run.stats
    _adds_up(stats)
    assert stats["frames_edited"] >= 15 and len(run.received) >= 15, stats
    assert stats["references"] >= 1 and stats["face_tracked"] is True
    assert stats["ended"] and stats["error"] is None
    # the returned frames are the sketch of the frames sent, not the frames themselves
    last = run.received[-1]
    sent = _closest_input(last, frames)
    to_sketch = np.abs(apply_style("sketch", sent).astype(np.int16) - last).mean()
    to_input = np.abs(sent.astype(np.int16) - last).mean()
    assert to_sketch < 0.5 * to_input, (to_sketch, to_input)


def test_the_edit_changes_without_reconnecting(frames):
    with ServerThread(ServeConfig(port=0)) as server:
        run = asyncio.run(stream_clip(server.url, frames, 5.0, {"style": "cartoon"},
                                      changes=((2.0, {"sticker": "star"}),)))
    stats = run.stats
    _adds_up(stats)
    assert stats["edit_changes"] == 1 and stats["references"] >= 2, stats
    # the star is yellow: the last frames have far more strongly yellow pixels than the first
    def yellow(f):
        r, g, b = (f[..., i].astype(np.int16) for i in range(3))
        return int(((r > 180) & (g > 150) & (b < 90)).sum())
    assert yellow(run.received[-1]) > yellow(run.received[3]) + 300


def test_a_full_server_answers_busy_and_the_running_stream_goes_on(frames):
    async def two():
        first = asyncio.ensure_future(stream_clip(server.url, frames, 4.0))
        await asyncio.sleep(1.5)
        second = await stream_clip(server.url, frames, 1.0)
        return await first, second

    with ServerThread(ServeConfig(port=0, max_streams=1)) as server:
        first, second = asyncio.run(two())
        refused = server.get("/stats")["refused_busy"]
    assert second.status == 503 and "busy" in second.error
    assert refused == 1
    assert first.status == 200 and first.stats["frames_edited"] >= 15
    _adds_up(first.stats)


def test_ended_streams_release_their_threads(frames):
    def serving_threads():
        return {t.name for t in threading.enumerate()
                if t.name.startswith(("streamedit-serve-", "streamedit-mesh"))}

    before = serving_threads()
    with ServerThread(ServeConfig(port=0)) as server:
        for _ in range(3):
            run = asyncio.run(stream_clip(server.url, frames, 1.5))
            assert run.status == 200 and run.stats["ended"]
            _adds_up(run.stats)
        stats = server.get("/stats")
    assert stats["streams"] == [] and len(stats["ended"]) == 3
    assert serving_threads() == before
