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
from streamedit_sdk.io.video import VideoReader, VideoWriter


@dataclass(frozen=True)
class DemoOutputs:
    input: Path  # the synthetic clip
    output: Path  # demo.mp4, the edited clip
    compare: Path  # demo_compare.mp4, input | output
    strip: Path  # demo_frames.png, a few frames of the comparison
    summary: EditSummary


def run_demo(out_dir: str | Path, frames: int = 90, fps: int = 30,
             progress: bool = True) -> DemoOutputs:
    """Make the astronaut clip, pin the built-in star to her cheek, write the videos."""
    out = Path(out_dir)
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
    """Stack ``picks`` evenly spaced frames of ``video`` into one PNG (half size)."""
    frames = list(VideoReader(video))
    idx = np.linspace(0, len(frames) - 1, picks).round().astype(int)
    rows = [cv2.resize(frames[i], None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
            for i in idx]
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
