"""Write the occlusion pass's composited clip as a video, to edit it as a user would.

    python bench/results/2026-12-07-visibility/occluded_clip.py \
        ../shared/clips/d11.mp4 hand /tmp/hand.mp4
    streamedit edit /tmp/hand.mp4 -o /tmp/out.mp4 --style cartoon --compare /tmp/cmp.mp4

The occluder is the one ``streamedit eval``'s occlusion pass draws for that kind and clip,
on its path (in over frames 8-24, resting 24-48, out 48-64).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.apps.eval import occlusion
from streamedit_sdk.apps.eval import occluders as occ
from streamedit_sdk.apps.eval.carriers import mesh_truth
from streamedit_sdk.io.video import VideoReader


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("kind", choices=occ.KINDS)
    ap.add_argument("output", type=Path, help="an .mp4 that does not exist yet")
    args = ap.parse_args()
    if args.output.exists():
        raise SystemExit(f"{args.output} exists: pick another name")
    frames = [f for _, f in zip(range(occlusion.PATH.gone + 4), VideoReader(args.clip))]
    truth = mesh_truth(frames, 512)
    rng = np.random.default_rng(0)  # the pass's draws: every kind, in order
    made = {k: occ.make_occluder(k, frames[0], truth[0], rng) for k in occ.KINDS}
    path = dataclasses.replace(occlusion.PATH,
                               rest=(0.0, made[args.kind].reach + occlusion.REST_BELOW))
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(args.output), cv2.VideoWriter_fourcc(*"mp4v"), 25, (w, h))
    for frame, _ in occ.occluded_clip(iter(frames), truth, made[args.kind], path):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    print(args.output)


if __name__ == "__main__":
    main()
