"""Per-frame cost of the front door <-> actor hop (the media terminating at the front door)."""

import json
import os
import time

os.environ.setdefault("RAY_AUTH_MODE", "token")
import numpy as np
import ray

ray.init(num_cpus=4, include_dashboard=False, logging_level="ERROR", log_to_driver=False)


@ray.remote(num_cpus=1)
class Echo:
    def echo(self, frame):
        return frame

    def touch(self, frame):
        return frame.copy()


a = Echo.remote()
ray.get(a.echo.remote(np.zeros(4)))
out = {}
for w, h in ((512, 512), (1280, 720), (1920, 1080)):
    f = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    for _ in range(10):
        ray.get(a.touch.remote(f))
    t = []
    for _ in range(100):
        s = time.perf_counter()
        r = ray.get(a.touch.remote(f))
        t.append(time.perf_counter() - s)
    local = []
    for _ in range(100):
        s = time.perf_counter()
        r = f.copy()
        local.append(time.perf_counter() - s)
    out[f"{w}x{h}"] = {
        "actor_round_trip_ms_p50": round(np.median(t) * 1e3, 2),
        "p95": round(np.percentile(t, 95) * 1e3, 2),
        "in_process_copy_ms_p50": round(np.median(local) * 1e3, 3),
        "frame_mb": round(f.nbytes / 2**20, 2),
    }
print(json.dumps(out, indent=1))
ray.shutdown()
