"""``streamedit demo``: a sticker pinned to a moving synthetic portrait, no input needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.edit_file import EditSummary, edit_video
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.io.images import write_image
from streamedit_sdk.io.video import VideoReader, VideoWriter


@dataclass(frozen=True)
class DemoOutputs:
    input: Path  # the synthetic clip
    output: Path  # demo.mp4, the edited clip
    compare: Path  # demo_compare.mp4, input | output
    strip: Path  # demo_frames.png, four frames of the comparison at full size, numbered
    summary: EditSummary


def run_demo(out_dir: str | Path, frames: int = 90, fps: int = 30,
             progress: bool = True) -> DemoOutputs:
    """Make the astronaut clip (``demo_input.mp4``), pin the built-in star to her cheek and
    write ``demo.mp4``, ``demo_compare.mp4`` and ``demo_frames.png`` into ``out_dir``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file: the demo writes four files into a folder; give "
                         "a folder name with -o (it is made if missing)")
    if not isinstance(frames, int) or frames < 2:
        raise ValueError(f"the demo clip needs at least 2 frames; got {frames!r}")
    out.mkdir(parents=True, exist_ok=True)
    clip_path = out / "demo_input.mp4"
    with VideoWriter(clip_path, fps) as writer:
        for frame in synthetic.clip(frames)[0]:
            writer.write(frame)
    summary = edit_video(clip_path, out / "demo.mp4", EditSpec(sticker="star"),
                         config=EditorConfig(mode="residual"), compare=out / "demo_compare.mp4",
                         progress=progress)
    strip = out / "demo_frames.png"
    _write_strip(out / "demo_compare.mp4", strip, picks=4)
    return DemoOutputs(clip_path, out / "demo.mp4", out / "demo_compare.mp4", strip, summary)


def _write_strip(video: Path, path: Path, picks: int) -> None:
    """Stack ``picks`` evenly spaced frames of ``video`` (input | edited, at full size) into
    one PNG, each under a band that names its frame."""
    frames = list(VideoReader(video))
    idx = np.unique(np.linspace(0, len(frames) - 1, min(picks, len(frames))).round()
                    ).astype(int)
    rows = [_labelled(frames[i], f"frame {i}", ("input", "edited")) for i in idx]
    write_image(path, np.concatenate(rows, axis=0))


def _labelled(frame: np.ndarray, title: str, halves: tuple[str, str], band: int = 36
              ) -> np.ndarray:
    """``frame`` (a side-by-side pair) under a dark band: ``title`` on the left, each half's
    name over it."""
    h, w = frame.shape[:2]
    top = np.full((band, w, 3), 24, np.uint8)
    font, scale, ink = cv2.FONT_HERSHEY_SIMPLEX, band / 48, (235, 235, 235)
    cv2.putText(top, title, (10, band - 11), font, scale, ink, 2, cv2.LINE_AA)
    for k, name in enumerate(halves):
        (tw, _), _ = cv2.getTextSize(name, font, scale, 2)
        x = k * w // 2 + (w // 2 - tw) // 2
        cv2.putText(top, name, (x, band - 11), font, scale, ink, 2, cv2.LINE_AA)
    return np.concatenate([top, frame], axis=0)
