"""Face landmarks alone, per clip: the share of frames with a face and the time per frame.

Runs the SDK's ``LandmarkTracker`` (video mode, as a stream does) over each clip at the work
size (longest side 512, as the editor measures faces) and writes one JSON row per clip. Used to
compare MediaPipe releases: run it once in each environment, on the same quiet machine.

    python bench/landmarks.py ../shared/clips/*.mp4 --json out.json [--max-faces 1]
"""

from __future__ import annotations

import argparse
import json
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from streamedit_sdk.frames import to_work
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.perception.landmarks import LandmarkTracker

WORK_SIDE = 512


def measure(clip: Path, max_faces: int) -> dict:
    """{clip, frames, found, ms_p50, ms_p99, ms_mean} of one clip, tracked from its start."""
    frames = [to_work(f, WORK_SIDE) for f in VideoReader(clip)]
    times, found = [], 0
    with LandmarkTracker(max_faces=max_faces) as tracker:
        tracker.track(frames[0])  # (the first call starts the graph's threads: not timed)
        tracker.reset()
        for frame in frames:
            start = time.perf_counter()
            pts = tracker.track(frame)
            times.append(time.perf_counter() - start)
            found += pts is not None
    ms = np.array(times) * 1e3
    return {"clip": clip.stem, "frames": len(frames), "found": found,
            "ms_p50": float(np.median(ms)), "ms_p99": float(np.percentile(ms, 99)),
            "ms_mean": float(ms.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, required=True, help="where to write the rows")
    parser.add_argument("--max-faces", type=int, default=3, help="faces followed (default 3)")
    args = parser.parse_args()
    rows = []
    for clip in args.clips:
        rows.append(measure(clip, args.max_faces))
        r = rows[-1]
        print(f"{r['clip']:14s} {r['found']:5d}/{r['frames']:<5d} faces  "
              f"p50 {r['ms_p50']:6.2f} ms  p99 {r['ms_p99']:6.2f} ms")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"mediapipe": metadata.version("mediapipe"),
                                     "max_faces": args.max_faces, "rows": rows}, indent=2)
                         + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
