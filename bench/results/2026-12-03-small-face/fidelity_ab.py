"""Sticker fidelity with the small face's crop from the work frame (1114f33) and from the
frame at its own size (now), two ways.

    python fidelity_ab.py shrunk CLIP.mp4 ... [--iod 37]   # against a known truth
    python fidelity_ab.py cross CLIP.mp4                    # against both independent meshes

``shrunk``: a close-up clip shrunk onto a 720x1080 canvas so its irises are ``--iod`` px
apart (as on s13_fullbody); the expected placement comes from the face mesh of the close-up
itself (the face at full size), shrunk the same way, so neither crop is the judge.
``cross``: the eval's independent mesh made with either crop, the SDK run with either: four
combinations. Both carry the eval's probes in residual mode with a new reference every 25
frames (the `fidelity` pass of ``streamedit eval --fixed-interval 25``) and print median / 5th
percentile IoU / torn share / 95th-percentile drift (IOD) per probe; ``--json`` keeps them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.apps.eval import fidelity as F
from streamedit_sdk.apps.eval.carriers import mesh_truth, sdk_propagator
from streamedit_sdk.config import EditorConfig, ReplacementConfig
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.perception import landmarks as L

# -- the small face's crop as it was at 1114f33: cut from the work frame, no half-pixel terms
# (the SDK's output with it is byte-identical to 1114f33's: s13_fullbody, 40 frames, replace
# and residual)
NOW = L.LandmarkTracker._in_crop


def _before(self, mesh, rgb, box, full=None):
    cx, cy, size = box
    half = size * 1.2
    if not (np.isfinite(half) and half >= 4):
        return None
    s = L.CROP_SIDE / (2 * half)
    x0, y0 = cx - half, cy - half
    to_crop = np.array([[s, 0, -s * x0], [0, s, -s * y0]], np.float32)
    crop = cv2.warpAffine(rgb, to_crop, (L.CROP_SIDE, L.CROP_SIDE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    pts = self._run(mesh, crop)
    if pts is None:
        return None
    return pts / s + np.array([x0, y0], np.float32)


def use_before() -> None:
    L.LandmarkTracker._in_crop = _before


def use_now() -> None:
    L.LandmarkTracker._in_crop = NOW


CONFIG = dataclasses.replace(EditorConfig(mode="residual"),
                             replacement=ReplacementConfig(enabled=True, interval=25))
CANVAS = (720, 1080)
CROPS = {"before": use_before, "now": use_now}


def sdk(crop: str):
    def run(first, edited, rest):
        CROPS[crop]()
        yield from sdk_propagator(CONFIG)(first, edited, rest)
    return run


def line(name: str, probes: dict) -> str:
    return name + "  " + "  ".join(
        f"{k} {v['iou_median']:.3f}/{v['iou_p5']:.3f}/{100 * v['torn']:.1f}%/"
        f"{v['drift_p95']:.3f}" for k, v in probes.items())


def shrunk(clip: Path, iod: float) -> dict:
    big = mesh_truth(iter(VideoReader(clip)), 1 << 16)  # the close-up at its own size
    scale = iod / float(np.median([F.interocular(t) for t in big if t is not None]))
    first = next(iter(VideoReader(clip)))
    sh, sw = round(first.shape[0] * scale), round(first.shape[1] * scale)
    w, h = CANVAS
    oy, ox = h // 4, (w - sw) // 2

    def canvas(frame):
        out = np.full((h, w, 3), 90, np.uint8)
        small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)[:h - oy, :w]
        out[oy:oy + small.shape[0], ox:ox + small.shape[1]] = small
        return out

    def frames():
        return (canvas(f) for f in VideoReader(clip))
    to_canvas = np.float32([sw / first.shape[1], sh / first.shape[0]])
    truth = [None if t is None else t * to_canvas + np.float32([ox, oy]) for t in big]
    out = {}
    for crop in CROPS:
        out[crop] = F.measure(frames, truth, {"sdk": sdk(crop)})["sdk"].summary()["probes"]
        print(line(f"{clip.name} iod {iod:.0f} {crop}:", out[crop]), flush=True)
    return out


def cross(clip: Path) -> dict:
    truths = {}
    for crop in CROPS:
        CROPS[crop]()
        truths[crop] = mesh_truth(iter(VideoReader(clip)), CONFIG.work_side)
    out = {}
    for crop in CROPS:
        for judge in CROPS:
            probes = F.measure(lambda: iter(VideoReader(clip)), truths[judge],
                               {"sdk": sdk(crop)})["sdk"].summary()["probes"]
            out[f"sdk {crop} / mesh {judge}"] = probes
            print(line(f"{clip.name} sdk {crop} / independent mesh {judge}:", probes),
                  flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("how", choices=("shrunk", "cross"))
    p.add_argument("clips", nargs="+", type=Path)
    p.add_argument("--iod", type=float, default=37.0)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    results = {c.name: (shrunk(c, args.iod) if args.how == "shrunk" else cross(c))
               for c in args.clips}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
