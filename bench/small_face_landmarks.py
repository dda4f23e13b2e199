"""How well the face mesh places a small face's landmarks: cut from the work frame or from the
frame at its own size.

A full-body shot's face is too small for the landmarker's short-range detector; the tracker
finds it with the full-range detector and meshes it in a crop (``LandmarkTracker``). This
measures that crop against a known answer: frames of close-up clips are meshed at their own
size (the face ~100 px between the irises), then shrunk onto a 720x1080 canvas so the irises
are ``--iod`` px apart, as on s13_fullbody, and tracked at the 512-px work size with the crop
cut from the work frame (``full=None``, before 2026-12-03) or from the canvas. Error: mean
distance of the 468 mesh points to the close-up's, shrunk, in inter-ocular distances (IOD).
Jitter: the same frame moved by known sub-pixel shifts and moved back, RMS spread of the
points (IOD).

    python bench/small_face_landmarks.py ../shared/clips/d3.mp4 ... --json out.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.apps.bench.machine import describe
from streamedit_sdk.correspondence.face_lead import interocular
from streamedit_sdk.frames import to_work
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.perception.landmarks import LandmarkTracker

CANVAS = (720, 1080)  # width, height: s13_fullbody's frame
WORK_SIDE = 512
MESH_POINTS = 468  # the iris points left out


def shrink(frame: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` shrunk by ``scale`` onto the grey canvas, and the (sx, sy, ox, oy) that takes
    landmark px of ``frame`` to the canvas (landmark px are normalised x size, so a resize
    scales them)."""
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    w, h = CANVAS
    canvas = np.full((h, w, 3), 90, np.uint8)
    oy, ox = h // 4, (w - small.shape[1]) // 2
    part = small[:h - oy, :w]
    canvas[oy:oy + part.shape[0], ox:ox + part.shape[1]] = part
    return canvas, np.array([small.shape[1] / frame.shape[1], small.shape[0] / frame.shape[0],
                             ox, oy])


def track_canvas(tracker: LandmarkTracker, canvas: np.ndarray, from_source: bool
                 ) -> np.ndarray | None:
    """The canvas's landmarks, canvas px, meshed at work size (crop from the canvas or not)."""
    work = to_work(canvas, WORK_SIDE)
    lm = tracker.track(work, canvas if from_source else None)
    return None if lm is None else lm * np.float32([canvas.shape[1] / work.shape[1],
                                                    canvas.shape[0] / work.shape[0]])


def clip_errors(path: Path, iod: float, frames: int) -> dict:
    """Mean error (IOD) of both crops over the first ``frames`` frames of a close-up."""
    shots = [f for _, f in zip(range(frames), VideoReader(path))]
    with LandmarkTracker() as big:
        truth = [big.track(f) for f in shots]
    seen = [t for t in truth if t is not None]
    scale = iod / float(np.median([interocular(t) for t in seen]))
    out = {}
    for name, from_source in (("work_frame", False), ("source_frame", True)):
        errors, lost = [], 0
        with LandmarkTracker() as tracker:
            for frame, t in zip(shots, truth):
                if t is None:
                    continue
                canvas, (sx, sy, ox, oy) = shrink(frame, scale)
                lm = track_canvas(tracker, canvas, from_source)
                if lm is None:
                    lost += 1
                    continue
                true = t[:MESH_POINTS] * np.float32([sx, sy]) + np.float32([ox, oy])
                errors.append(float(np.linalg.norm(lm[:MESH_POINTS] - true, axis=1).mean()))
        out[name] = {"error_iod": float(np.mean(errors)) / iod if errors else None,
                     "lost": lost}
    out["jitter"] = {name: jitter(shots[0], scale, iod, from_source)
                     for name, from_source in (("work_frame", False), ("source_frame", True))}
    return out


def jitter(frame: np.ndarray, scale: float, iod: float, from_source: bool) -> float:
    """RMS spread (IOD) of the landmarks of one shrunk frame moved by 8 known shifts (up to
    2 px) and moved back, tracked in video mode."""
    canvas, _ = shrink(frame, scale)
    h, w = canvas.shape[:2]
    points = []
    with LandmarkTracker() as tracker:
        for t in np.random.default_rng(0).uniform(-2.0, 2.0, (8, 2)):
            moved = cv2.warpAffine(canvas, np.float32([[1, 0, t[0]], [0, 1, t[1]]]), (w, h),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            lm = track_canvas(tracker, moved, from_source)
            if lm is not None:
                points.append(lm[:MESH_POINTS] - t)
    if len(points) < 2:
        return float("nan")
    points = np.stack(points)
    return float(np.sqrt(((points - points.mean(0)) ** 2).sum(2).mean())) / iod


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clips", nargs="+", type=Path, help="close-up clips")
    p.add_argument("--iod", type=float, nargs="+", default=[37.0, 25.0],
                   help="inter-ocular distances (canvas px) to shrink the faces to")
    p.add_argument("--frames", type=int, default=60, help="frames per clip")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args()
    rows = []
    print("| clip | IOD px | error, work-frame crop | error, source-frame crop "
          "| jitter, work / source |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for clip in args.clips:
        for iod in args.iod:
            r = clip_errors(clip, iod, args.frames)
            rows.append({"clip": clip.name, "iod": iod, **r})
            print(f"| {clip.name} | {iod:.0f} | {r['work_frame']['error_iod']:.4f} | "
                  f"{r['source_frame']['error_iod']:.4f} | {r['jitter']['work_frame']:.4f} / "
                  f"{r['jitter']['source_frame']:.4f} |", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": describe(), "rows": rows}, indent=2) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
