"""``streamedit serve --ray``: three streams, each editor in an actor of a local Ray cluster
(started here on 127.0.0.1); one actor's process is killed mid-stream (SIGKILL). That stream resumes
on another actor with a fresh reference; the other two see no gap; every counter adds up."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("aiortc", reason="the server's packages: pip install '.[serve]'")
# the test cluster uses token authentication, as docs/serving.md asks of a real one: a token
# made for this run unless one is given (Ray reads both when it is imported, so this process
# and the `ray start` below share them from the start)
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
pytest.importorskip("ray", reason="the Ray extra: pip install '.[ray]'")

from serve_peers import ServerThread, stream_clip  # noqa: E402

from streamedit_sdk.apps.serve import RaySettings, ServeConfig  # noqa: E402
from streamedit_sdk.apps.serve.server import HUB  # noqa: E402
from streamedit_sdk.io.video import VideoReader  # noqa: E402

SECONDS = 16.0  # each stream's length; one actor's process is killed once all three edit
RESUME_WITHIN = 2.0  # s: the killed stream's edit is back within this
NO_GAP = 1.0  # s: the longest pause the other streams may show


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """A one-node Ray cluster started here: its head's address; stopped afterwards."""
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    started = subprocess.run([ray_cli, "start", "--head", "--node-ip-address=127.0.0.1",
                              f"--port={port}", "--num-cpus=8", "--include-dashboard=false",
                              "--disable-usage-stats"], env=env, timeout=180,
                             capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"`ray start` failed ({started.returncode}):\n{started.stderr[-3000:]}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray_cli, "stop", "--force"], env=env, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _sketched(frame: np.ndarray) -> bool:
    """The sketch style is grey; the clip is not (mean channel spread ~40 levels)."""
    f = frame.astype(np.int16)
    return float(np.abs(f[..., 0] - f[..., 1]).mean() + np.abs(f[..., 1] - f[..., 2]).mean()) < 6


def test_a_killed_actor_s_stream_resumes_and_the_others_see_no_gap(ray_cluster, clips):
    frames = [f for _, f in zip(range(40), VideoReader(clips / "d11.mp4"))]
    config = ServeConfig(port=0, max_streams=3,
                         ray=RaySettings(address=ray_cluster, num_cpus=1.0, spares=1))
    killed: dict = {}

    with ServerThread(config) as server:
        hub = server.app[HUB]

        def kill() -> None:  # the first stream's actor process, as a crash would, once
            # every stream edits (actors load for a few seconds on a busy machine)
            deadline = time.monotonic() + SECONDS - 4
            while time.monotonic() < deadline:
                sessions = list(hub.sessions.values())
                if len(sessions) == 3 and all(s.stats()["frames_edited"] >= 10
                                              for s in sessions):
                    editor = sessions[0]._runner.editor
                    killed.update(session=sessions[0].id, pid=editor.pid)
                    os.kill(editor.pid, signal.SIGKILL)
                    return
                time.sleep(0.1)

        async def three():
            killer = threading.Thread(target=kill, daemon=True)
            killer.start()
            runs = await asyncio.gather(*(stream_clip(server.url, frames, SECONDS,
                                                      {"style": "sketch"}, keep=10_000)
                                          for _ in range(3)))
            killer.join()
            return runs

        runs = asyncio.run(three())
        started = hub.pool.started
    assert killed, "no stream was running at the kill"
    by_id = {run.session: run for run in runs}
    victim = by_id[killed["session"]]
    for run in runs:
        s = run.stats
        assert run.status == 200 and s["ended"], s
        assert s["frames_in"] == (s["frames_edited"] + s["passed_through"] + s["dropped"]
                                  + s["abandoned"]), s
        edited_at = [t for t, f in zip(run.times, run.received) if _sketched(f)]
        assert len(edited_at) >= 20, (s, len(edited_at))
        longest = max(np.diff(edited_at))
        if run is victim:
            assert s["restarts"] == 1 and s["references"] >= 1, s
            assert longest <= RESUME_WITHIN, longest
        else:
            assert s["restarts"] == 0 and s["passed_through"] == 0, s
            assert max(np.diff(run.times)) <= NO_GAP, max(np.diff(run.times))
    assert started == 3 + 1 + 1  # three streams, the spare, the spare after the failover
