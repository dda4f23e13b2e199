"""Frames of the eval's drawn edit (a red moustache and a blue dot on frame 0) carried with
the default options, side by side, to look at.

    python bench/results/2026-12-08-switches/drawn_frames.py ../shared/clips/d3.mp4 \
        0,60,150,250,299 drawn.jpg [--crop Y0 Y1 X0 X1]

Prints the mode `edit` picks for the drawing and why.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2
import numpy as np

import streamedit_sdk as se
from streamedit_sdk.apps.eval.runner import _drawn_edit
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.io.video import VideoReader


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("frames", help="frame numbers, comma-separated")
    ap.add_argument("output", type=Path)
    ap.add_argument("--crop", type=int, nargs=4, metavar=("Y0", "Y1", "X0", "X1"))
    args = ap.parse_args()
    if args.output.exists():
        raise SystemExit(f"{args.output} exists: pick another name")
    keep = sorted(int(x) for x in args.frames.split(","))
    frames = list(itertools.islice(VideoReader(args.clip), keep[-1] + 1))
    drawn = _drawn_edit(frames[0])
    if drawn is None:
        raise SystemExit(f"{args.clip}: frame 0 shows no face to draw on")
    mode = EditSpec(edited_ref=Path("drawn.png")).mode_for(frames[0], drawn)
    print(mode.describe())
    tiles = []
    with se.StreamEditor(se.EditorConfig(mode=mode.mode)) as ed:
        ed.set_reference(frames[0], drawn)
        for i, frame in enumerate(frames):
            out = ed.process(frame).frame
            if i in keep:
                c = args.crop
                tiles.append(out if c is None else out[c[0]:c[1], c[2]:c[3]])
    cv2.imwrite(str(args.output), cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(args.output)


if __name__ == "__main__":
    main()
