"""The fidelity pass of ``streamedit eval`` alone, for the SDK under a given configuration.

    python bench/fidelity_of.py OUT_DIR CLIP... [--ppce] [--no-face-lead] [--lk N]

Writes OUT_DIR/<clip>.json: {"video", "config", "sdk": fidelity summary}. Used to measure the
SDK before the face lead (``--ppce --no-face-lead --lk 3``: the 2026-12-01 default) against
what ``eval`` reports now, without re-running the DIS baseline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from streamedit_sdk.apps.eval import fidelity
from streamedit_sdk.apps.eval.carriers import full_size_landmarks, sdk_propagator
from streamedit_sdk.config import EditorConfig, FaceLead, ReplacementConfig
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.perception.landmarks import LandmarkTracker


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("clips", nargs="+", type=Path)
    p.add_argument("--ppce", action="store_true", help="the learned correspondence")
    p.add_argument("--no-face-lead", action="store_true")
    p.add_argument("--lk", type=int, default=0, help="Lucas-Kanade steps (flow)")
    p.add_argument("--interval", type=int, default=25, help="frames between references")
    args = p.parse_args()
    config = EditorConfig(mode="residual", correspondence="ppce" if args.ppce else "flow",
                          face_lead=None if args.no_face_lead else FaceLead(),
                          lk_iterations=args.lk,
                          replacement=ReplacementConfig(enabled=True, interval=args.interval))
    args.out.mkdir(parents=True, exist_ok=True)
    for clip in args.clips:
        with LandmarkTracker() as tracker:
            truth = [full_size_landmarks(tracker, f, config.work_side)
                     for f in VideoReader(clip)]
        scores = fidelity.measure(lambda: iter(VideoReader(clip)), truth,
                                  {"sdk": sdk_propagator(config)})
        out = {"video": clip.name, "config": vars(args) | {"out": str(args.out),
                                                           "clips": None},
               "sdk": scores["sdk"].summary()}
        (args.out / f"{clip.stem}.json").write_text(json.dumps(out, indent=2) + "\n")
        print(clip.name, {k: round(v["iou_median"], 3)
                          for k, v in out["sdk"]["probes"].items()}, flush=True)


if __name__ == "__main__":
    main()
