"""One headless Chromium page streaming its fake camera to one server on this machine, at
each camera size; what the page measured and the server counted.

Run from the repository root: ``PYTHONPATH=tests python bench/results/2026-12-07-serve/
measure.py [SECONDS] [CLIP]`` (default 20 s of ../shared/clips/s18_camera.mp4, 1280x720).
Writes ``browser-WxH.json`` beside this file."""

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from cdp import Chromium, camera_file
from serve_peers import ServerThread

from streamedit_sdk.apps.bench.memory import status_kib
from streamedit_sdk.apps.serve import ServeConfig

HERE = Path(__file__).resolve().parent
SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
CLIP = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("../shared/clips/s18_camera.mp4")


async def one(size: str, work: Path) -> dict:
    camera = camera_file(CLIP, work / f"camera-{size}.y4m", size, seconds=4)
    with ServerThread(ServeConfig(port=0)) as server:
        idle = status_kib("VmRSS") / 1024
        peak = idle
        async with Chromium(work / f"profile-{size}", camera) as browser:
            page = await browser.open(f"{server.url}/?autostart=1&seconds={SECONDS}"
                                      f"&style=cartoon&audio=0&size={size}")
            start = time.monotonic()
            deadline, shot, ended = start + SECONDS + 120, None, []
            while not ended and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                peak = max(peak, status_kib("VmRSS") / 1024)
                if shot is None and time.monotonic() > start + SECONDS / 2:
                    shot = await page.screenshot(HERE / f"page-{size}.jpg")
                ended = [s for s in server.get("/stats")["ended"] if s["browser"].get("final")]
    stats = ended[0]
    b = stats["browser"]
    return {"size": size, "seconds": SECONDS, "clip": CLIP.name,
            "browser": {"fps_shown": round(b["frames_shown"] / SECONDS, 1),
                        "fps_received": round(b["frames_received"] / SECONDS, 1),
                        "latency_p50_ms": b["latency_p50_ms"],
                        "latency_p95_ms": b["latency_p95_ms"],
                        "frames_sent": b["frames_sent"], "width": b["width"],
                        "height": b["height"]},
            "server": {k: stats[k] for k in ("frames_in", "frames_edited", "passed_through",
                                             "dropped", "abandoned", "late", "fps",
                                             "live_seconds", "latency_ms", "references")},
            "server_rss_mb": {"idle": round(idle), "peak": round(peak)},
            "screenshot": shot.name}


async def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        for size in ("640x360", "1280x720"):
            result = await one(size, Path(work))
            (HERE / f"browser-{size}.json").write_text(json.dumps(result, indent=2) + "\n")
            print(json.dumps(result))


asyncio.run(main())
