"""20 connect/disconnect cycles of one aiortc peer streaming 40 frames of CLIP; RSS after each
(run with PYTHONPATH=tests from the repository root; MALLOC_ARENA_MAX set = no cap)."""
import asyncio
import gc
import json
import os

from serve_peers import ServerThread, stream_clip
from streamedit_sdk.apps.bench.memory import status_kib
from streamedit_sdk.apps.serve import ServeConfig
from streamedit_sdk.apps.serve.server import MALLOC_ARENAS
from streamedit_sdk.core.heap import cap_arenas
from streamedit_sdk.io.video import VideoReader


def rss_mb() -> float:
    return status_kib("VmRSS") / 1024


cap_arenas(MALLOC_ARENAS)
frames = [
    f for _, f in zip(range(40), VideoReader(os.environ.get("CLIP", "../shared/clips/d11.mp4")))
]
out = []
with ServerThread(ServeConfig(port=0)) as server:
    out.append(("idle", round(rss_mb())))
    for i in range(20):
        run = asyncio.run(stream_clip(server.url, frames, 2.0, {"style": "cartoon"}))
        gc.collect()
        out.append((i, round(rss_mb()), run.stats["frames_edited"]))
        print(out[-1], flush=True)
print(json.dumps(out))
