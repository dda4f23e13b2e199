"""``streamedit serve`` with aiortc client peers: the edit comes back, counters add up, the
edit changes without reconnecting, a full server says busy, and ended streams free everything."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request

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


def test_an_ended_streams_fps_is_over_the_time_it_was_live(frames):
    """The stats of an ended stream do not age: fps is frames over the time frames flowed
    (not over the time since the stream was opened, nor since it ended)."""
    async def run_then_wait():
        run = await stream_clip(server.url, frames, 3.0)
        await asyncio.sleep(2.0)
        return run, server.get(f"/session/{run.session}/stats")

    with ServerThread(ServeConfig(port=0)) as server:
        run, later = asyncio.run(run_then_wait())
    stats = run.stats
    assert stats["ended_by"] == "stopped by the page"
    assert later["fps"] == stats["fps"] and later["live_seconds"] == stats["live_seconds"]
    out = stats["frames_edited"] + stats["passed_through"]
    assert 0 < stats["live_seconds"] <= 3.0
    assert stats["fps"] == pytest.approx(out / stats["live_seconds"], rel=0.02)


def test_the_server_logs_one_line_when_a_stream_starts_and_ends(frames, tmp_path):
    """At the default level (no -v): a line per start and per end, and nothing per frame."""
    import re
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamedit_sdk.cli", "serve", "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert "open http://localhost" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/config", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        run = asyncio.run(stream_clip(url, frames, 2.5, {"style": "sketch"}))
        assert run.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if "stream 1 " in line]
    assert len(lines) == 2, err[-2000:]
    assert "stream 1 started (1 running): style sketch" in lines[0]
    assert re.search(r"stream 1 ended \(stopped by the page\) after \d+ s: \d+ frames out at "
                     r"[\d.]+ fps \(\d+ edited, \d+ before a face\), \d+ dropped, latency "
                     r"p50 \d+ ms", lines[1]), lines[1]
