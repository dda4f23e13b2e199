"""Before / after pictures and numbers of one occlusion case of ``streamedit eval``.

    python bench/results/2026-12-07-visibility/before_after.py ../shared/clips/d3.mp4 finger

Runs the eval's occlusion pass for one occluder kind twice, the same clip, occluder and
path: without visibility (``EditorConfig(visibility=None)``, what the SDK did before) and
with the default (the shipped visibility network). Writes ``before-after-CLIP-KIND.jpg``
beside this file (rows: before, after; columns: frames 20, 28, 36, 44, 52 of the occluder's
visit, cropped to the face) and prints both runs' scores as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.apps.eval import occlusion
from streamedit_sdk.apps.eval.carriers import mesh_truth
from streamedit_sdk.config import EditorConfig, Visibility
from streamedit_sdk.io.video import VideoReader

HERE = Path(__file__).resolve().parent
SHOTS = (20, 28, 36, 44, 52)


def crop_box(lm: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    """A square around the face of frame 0, grown by half its size."""
    x0, y0 = lm.min(axis=0)
    x1, y1 = lm.max(axis=0)
    side = 1.5 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = min(side, w, h)
    left = int(np.clip(cx - side / 2, 0, w - side))
    top = int(np.clip(cy - side / 2, 0, h - side))
    return left, top, int(side), int(side)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clip", type=Path)
    p.add_argument("kind", choices=occlusion.KINDS)
    args = p.parse_args()

    def frames():
        return iter(VideoReader(args.clip))
    truth = mesh_truth((f for _, f in zip(range(occlusion.PATH.gone + 4), frames())), 512)
    first = next(frames())
    left, top, side, _ = crop_box(truth[0], first.shape[1], first.shape[0])
    rows, scores = [], {}
    for name, vis in (("before", None), ("after", Visibility())):
        shots = {}

        def keep(kind, index, out):
            if index in SHOTS:
                tile = out[top:top + side, left:left + side]
                shots[index] = cv2.resize(tile, (320, 320), interpolation=cv2.INTER_AREA)
        result = occlusion.measure(frames, truth, EditorConfig(visibility=vis), (args.kind,),
                                   on_frame=keep)[args.kind]
        result.pop("signals")
        scores[name] = result
        rows.append(np.concatenate([shots[i] for i in SHOTS], axis=1))
    picture = np.concatenate(rows, axis=0)
    out = HERE / f"before-after-{args.clip.stem}-{args.kind}.jpg"
    cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(json.dumps({"clip": args.clip.name, "kind": args.kind, **scores, "picture": out.name},
                     indent=1))


if __name__ == "__main__":
    main()
