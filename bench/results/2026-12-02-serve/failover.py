"""The failover numbers of tests/test_serve_ray.py, printed: three streams on a local Ray
cluster, one actor's process SIGKILLed once all three edit. Run from the repository root:
PYTHONPATH=tests python bench/results/2026-12-02-serve/failover.py"""

import os

os.environ.setdefault("RAY_AUTH_MODE", "token")

import asyncio  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import test_serve_ray as T  # noqa: E402
from serve_peers import ServerThread, stream_clip  # noqa: E402
from streamedit_sdk.apps.serve import RaySettings, ServeConfig  # noqa: E402
from streamedit_sdk.apps.serve.server import HUB  # noqa: E402
from streamedit_sdk.io.video import VideoReader  # noqa: E402

port = T._free_port()
env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
subprocess.run(
    [
        "ray",
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=8",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ],
    check=True,
    env=env,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
try:
    clip = os.environ.get("CLIP", "../shared/clips/d11.mp4")
    frames = [f for _, f in zip(range(40), VideoReader(clip))]
    config = ServeConfig(port=0, max_streams=3, ray=RaySettings(address=f"127.0.0.1:{port}"))
    killed = {}
    with ServerThread(config) as server:
        hub = server.app[HUB]

        def kill():
            while True:
                sessions = list(hub.sessions.values())
                if len(sessions) == 3 and all(s.stats()["frames_edited"] >= 10 for s in sessions):
                    killed["session"] = sessions[0].id
                    os.kill(sessions[0]._runner.editor.pid, signal.SIGKILL)
                    return
                time.sleep(0.1)

        async def three():
            threading.Thread(target=kill, daemon=True).start()
            return await asyncio.gather(
                *(
                    stream_clip(server.url, frames, T.SECONDS, {"style": "sketch"}, keep=10_000)
                    for _ in range(3)
                )
            )

        runs = asyncio.run(three())
    for run in runs:
        s = run.stats
        edited_at = [t for t, f in zip(run.times, run.received) if T._sketched(f)]
        print(
            "killed" if run.session == killed.get("session") else "other ",
            {
                k: s[k]
                for k in (
                    "frames_in",
                    "frames_edited",
                    "passed_through",
                    "dropped",
                    "restarts",
                    "references",
                    "fps",
                )
            },
            f"longest pause between edited frames {max(np.diff(edited_at)):.2f} s, "
            f"between any frames {max(np.diff(run.times)):.2f} s",
        )
finally:
    subprocess.run(
        ["ray", "stop", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
