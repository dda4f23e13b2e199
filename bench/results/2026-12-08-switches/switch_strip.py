"""Frames around reference switches of a style, as `streamedit edit --style` carries it.

    python bench/results/2026-12-08-switches/switch_strip.py ../shared/clips/d3.mp4 \
        288 294 strip.jpg [--crop Y0 Y1 X0 X1]

Writes a strip of the output frames FIRST..LAST (inclusive), each labelled with its number,
the reference it came from and its excess change (how much more it changed than the input
since the frame before, grey levels), and prints the clip's switch frames and the excess
around each. It runs on the SDK of any commit of this repository (a style had no fill of its
own before 2026-12-08: the editor's default then), so the same frames can be drawn before and
after a change.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2
import numpy as np

import streamedit_sdk as se
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.io.video import VideoReader


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("output", type=Path)
    ap.add_argument("--style", default="cartoon")
    ap.add_argument("--crop", type=int, nargs=4, metavar=("Y0", "Y1", "X0", "X1"))
    args = ap.parse_args()
    if args.output.exists():
        raise SystemExit(f"{args.output} exists: pick another name")
    spec = EditSpec(style=args.style)
    fill = spec.inpainter() if hasattr(spec, "inpainter") else None
    e, switches, kept, prev = [], [], [], None
    frames = itertools.islice(VideoReader(args.clip), args.last + 1)
    with se.StreamEditor(se.EditorConfig(mode="replace"), inpainter=fill) as ed:
        for i, frame in enumerate(frames):
            if i == 0:
                ed.set_reference(frame, spec.apply(frame), needs_face=False)
            out = ed.process(frame)
            now = (frame.astype(np.int16), out.frame.astype(np.int16), out.reference_id)
            if prev is not None:  # excess change (apps/eval/switches.py), frames 1..
                e.append(float(np.abs(now[1] - prev[1]).mean() - np.abs(now[0] - prev[0]).mean()))
                if now[2] != prev[2]:
                    switches.append(i)
            prev = now
            if i >= args.first:
                kept.append((i, out.reference_id, out.frame))
    print("switches at", switches)
    for k in switches:
        print(f"  {k}: excess {[round(x, 1) for x in e[max(0, k - 4):k + 3]]} "
              f"(frames {max(1, k - 3)}..{min(len(e), k + 3)}), median {np.median(e):.2f}")
    tiles = []
    for i, ref, img in kept:
        tile = img if args.crop is None else img[args.crop[0]:args.crop[1],
                                                 args.crop[2]:args.crop[3]]
        tile = np.ascontiguousarray(cv2.cvtColor(tile, cv2.COLOR_RGB2BGR))
        label = f"{i} ref {ref} +{e[i - 1]:.1f}" if i >= 1 else f"{i} ref {ref}"
        cv2.putText(tile, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
        cv2.putText(tile, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        tiles.append(tile)
    cv2.imwrite(str(args.output), np.hstack(tiles), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(args.output)


if __name__ == "__main__":
    main()
