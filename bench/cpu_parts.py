"""Where the default path's CPU time goes: CPU ms per frame with each part turned off in turn.

On a machine whose cores are all busy, frames per second follow CPU time, not waits: this
times ``StreamEditor.process`` (the frame-by-frame path ``streamedit bench`` times) over the
same frames with the default configuration and with one part of it off at a time, then with
several off at once (the floors: what the editor costs without the parts the fidelity and
reconstruction bars rest on), and the face mesh and the DIS MEDIUM baseline alone. Each
row's ``speedup`` is the baseline's wall time over its own, as ``streamedit bench`` reports.
CPU time is the process's (every thread, user + system) per frame; wall time per frame
beside it. The variants run in turns, ``--rounds``
times, so a slower spell of a shared machine falls on all of them.

    python bench/cpu_parts.py --video ../shared/clips/d11.mp4 --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from streamedit_sdk.apps.baselines import DisBaseline
from streamedit_sdk.apps.bench.machine import describe
from streamedit_sdk.apps.bench.pipeline import REPLACE_EVERY, STYLE, FrameSource, playback
from streamedit_sdk.config import EditorConfig, FaceLead, ReplacementConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits import apply_style
from streamedit_sdk.frames import to_work
from streamedit_sdk.perception.landmarks import LandmarkTracker

WARMUP = 10
DEFAULT = EditorConfig(mode="replace", correspondence="flow",
                       replacement=ReplacementConfig(interval=REPLACE_EVERY))
# (name, what changes): the default with one part off, then with several (the floors)
VARIANTS: tuple[tuple[str, dict], ...] = (
    ("default", {}),
    ("no face lead (the flow's map carries the edit)", {"face_lead": None}),
    ("face lead without the flow's detail", {"face_lead": FaceLead(detail=False)}),
    ("face lead without the ring past the outline", {"face_lead": FaceLead(ring=0.0)}),
    ("face lead without smoothing the mesh", {"face_lead": FaceLead(mesh_smooth=0.0)}),
    ("no Lucas-Kanade steps", {"lk_iterations": 0}),
    ("DIS preset ultrafast", {"flow_preset": "ultrafast"}),
    ("one face followed (max_faces 1)", {"max_faces": 1}),
    ("floor: lean face lead (no detail, ring or smoothing), no Lucas-Kanade",
     {"face_lead": FaceLead(detail=False, ring=0.0, mesh_smooth=0.0), "lk_iterations": 0}),
    ("floor: no face lead, no Lucas-Kanade", {"face_lead": None, "lk_iterations": 0}),
    ("floor: no face lead, no Lucas-Kanade, DIS ultrafast",
     {"face_lead": None, "lk_iterations": 0, "flow_preset": "ultrafast"}),
)


def _timed(step: Callable[[np.ndarray], object], frames: list[np.ndarray]) -> tuple[float, float]:
    """(CPU ms, wall ms) per frame of ``step`` over ``frames`` after :data:`WARMUP` frames."""
    for frame in frames[:WARMUP]:
        step(frame)
    cpu, wall = time.process_time(), time.perf_counter()
    for frame in frames[WARMUP:]:
        step(frame)
    n = len(frames) - WARMUP
    return ((time.process_time() - cpu) * 1e3 / n, (time.perf_counter() - wall) * 1e3 / n)


def editor_cost(frames: list[np.ndarray], changes: dict) -> tuple[float, float]:
    config = dataclasses.replace(DEFAULT, **changes)
    with StreamEditor(config) as editor:
        editor.set_reference(frames[0], apply_style(STYLE, frames[0]))
        return _timed(editor.process, frames)


def mesh_cost(frames: list[np.ndarray]) -> tuple[float, float]:
    with LandmarkTracker(max_faces=DEFAULT.max_faces) as tracker:
        return _timed(lambda f: tracker.track(to_work(f, DEFAULT.work_side)), frames)


def baseline_cost(frames: list[np.ndarray]) -> tuple[float, float]:
    baseline = DisBaseline(DEFAULT.work_side)
    edited = apply_style(STYLE, frames[0])
    reference = baseline.observe(frames[0])
    return _timed(lambda f: baseline.warp(baseline.observe(f), reference, edited), frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="frames from this video (default: the "
                        "synthetic portrait), fitted to --size as streamedit bench does")
    parser.add_argument("--size", default="512x512", help="WxH (default 512x512)")
    parser.add_argument("--frames", type=int, default=150, help="timed frames per variant")
    parser.add_argument("--rounds", type=int, default=2, help="turns over all variants")
    parser.add_argument("--json", type=Path, required=True, help="where to write the rows")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    source = FrameSource(args.video)
    frames = list(playback(source.frames(width, height), WARMUP + args.frames))
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for name, changes in VARIANTS:
            runs.setdefault(name, []).append(editor_cost(frames, changes))
        runs.setdefault("face mesh alone", []).append(mesh_cost(frames))
        runs.setdefault("DIS MEDIUM baseline", []).append(baseline_cost(frames))
    rows = [{"run": name, "cpu_ms": [round(c, 2) for c, _ in v],
             "wall_ms": [round(w, 2) for _, w in v],
             "cpu_ms_mean": round(float(np.mean([c for c, _ in v])), 2),
             "wall_ms_mean": round(float(np.mean([w for _, w in v])), 2)}
            for name, v in runs.items()]
    default = rows[0]["cpu_ms_mean"]
    baseline = runs["DIS MEDIUM baseline"]
    for r in rows:  # the baseline's wall time over this run's, turn by turn, as bench's speedup
        r["speedup"] = round(float(np.mean([b / w for (_, b), (_, w)
                                            in zip(baseline, runs[r["run"]])])), 3)
        cpu = r["cpu_ms_mean"]
        print(f"{r['run']:48s} CPU {cpu:6.1f} ms/frame ({cpu - default:+6.1f})"
              f"  wall {r['wall_ms_mean']:6.1f} ms/frame  speedup {r['speedup']:.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": describe(), "source": source.name,
                                     "size": args.size, "frames": args.frames, "rows": rows},
                                    indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
