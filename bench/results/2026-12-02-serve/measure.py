"""N headless Chromium pages against one server on this machine; per-stream numbers."""

import json
import os
import subprocess
import sys
import time

from serve_peers import ServerThread
from streamedit_sdk.apps.bench.memory import status_kib
from streamedit_sdk.apps.serve import ServeConfig


def rss_mb() -> float:
    return status_kib("VmRSS") / 1024


n, seconds, style = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
camera = os.environ.get(
    "CAMERA", "/tmp/camera.y4m"
)  # ffmpeg -i CLIP -t 4 -pix_fmt yuv420p /tmp/camera.y4m
with ServerThread(ServeConfig(port=0, max_streams=8)) as server:
    idle = rss_mb()
    procs = []
    for i in range(n):
        page = f"{server.url}/?autostart=1&seconds={seconds}&style={style}&audio=0"
        procs.append(
            subprocess.Popen(
                [
                    "chromium",
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={camera}",
                    "--autoplay-policy=no-user-gesture-required",
                    f"--user-data-dir=/tmp/streamedit-profile-{i}",
                    page,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    peak = idle
    deadline = time.monotonic() + seconds + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        st = server.get("/stats")
        if st["streams"]:
            peak = max(peak, rss_mb())
        if len([s for s in st["ended"] if s["browser"].get("final")]) >= n:
            break
    for p in procs:
        p.kill()
        p.wait()
    after = rss_mb()
    ended = server.get("/stats")["ended"]
print(
    json.dumps(
        {
            "n": n,
            "seconds": seconds,
            "style": style,
            "rss_idle_mb": round(idle),
            "rss_peak_mb": round(peak),
            "rss_after_mb": round(after),
            "streams": ended,
        },
        indent=1,
    )
)
