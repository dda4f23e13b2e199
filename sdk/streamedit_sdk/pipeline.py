"""Editing a whole video file: read, edit the reference, stream through the editor, write."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import edits
from .config import EditorConfig
from .editor import NoFaceError, StreamEditor
from .generative.spec import PromptEdit
from .landmarks import LandmarkTracker
from .video import VideoError, VideoReader, VideoWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditSpec:
    """Which edit to make on the reference frame: exactly one of the four sources.

    edited_ref: image file with the edited reference (same size as the frames).
    style: name of a built-in style (:data:`streamedit_sdk.edits.STYLES`).
    sticker: image file (RGBA PNG best) or "star" for the built-in sticker.
    sticker_at: face region for the sticker (:data:`streamedit_sdk.edits.STICKER_PLACES`).
    prompt: a text-prompt edit with diffusers (:class:`streamedit_sdk.generative.PromptEdit`).
    """

    edited_ref: Path | None = None
    style: str | None = None
    sticker: str | None = None
    sticker_at: str = "cheek"
    prompt: PromptEdit | None = None

    def __post_init__(self) -> None:
        given = [x for x in (self.edited_ref, self.style, self.sticker, self.prompt)
                 if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one edit: an edited reference image, a style, a "
                             "sticker or a prompt")
        if self.style is not None:
            edits.style(self.style)  # unknown names fail here, before any video is decoded

    def apply(self, reference: np.ndarray) -> np.ndarray:
        """The edited reference, RGB uint8 like ``reference``."""
        if self.prompt is not None:
            return self.prompt.apply(reference)
        if self.style is not None:
            return edits.apply_style(self.style, reference)
        if self.sticker is not None:
            sticker = (edits.default_sticker() if self.sticker == "star"
                       else edits.load_sticker(self.sticker))
            with LandmarkTracker() as tracker:
                landmarks = tracker.detect(reference)
            if landmarks is None:
                raise NoFaceError("no face found in the reference frame to pin the sticker on: "
                                  "pick a frame that shows the face (--ref-frame N)")
            return edits.place_sticker(reference, landmarks, sticker, self.sticker_at)
        return read_image(self.edited_ref, reference.shape)


def read_image(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Read an RGB image that must match ``shape`` (H, W, 3)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"edited reference {path} does not exist")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"could not read {path} as an image")
    if bgr.shape[:2] != shape[:2]:
        raise ValueError(
            f"edited reference is {bgr.shape[1]}x{bgr.shape[0]} but frames are "
            f"{shape[1]}x{shape[0]}: resize it or pass --ref-frame for the frame it was made from")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class EditSummary:
    """What one ``edit_video`` run did."""

    input: Path
    output: Path
    frames: int
    reference_ids: tuple[int, ...]
    faces_lost: int
    reinitialized: int
    seconds: float  # wall time of the per-frame loop (decode + edit + encode)
    audio: bool
    truncated: bool
    edited_reference: Path | None = None  # the edited reference saved beside the output

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        refs = ", ".join(str(i) for i in self.reference_ids)
        extra = [f"face lost in {self.faces_lost} frames"]
        if self.reinitialized:
            extra.append(f"{self.reinitialized} size changes")
        if self.truncated:
            extra.append("input ended early (truncated)")
        extra.append("audio copied" if self.audio else "no audio")
        if self.edited_reference is not None:
            extra.append(f"edited reference {self.edited_reference}")
        n = len(self.reference_ids)
        return (f"edited {self.frames} frames of {self.input.name} -> {self.output} in "
                f"{self.seconds:.1f} s ({self.fps:.1f} fps): {n} "
                f"reference{'' if n == 1 else 's'} (frame{'' if n == 1 else 's'} {refs}), "
                + ", ".join(extra))


def edit_video(input: str | Path, output: str | Path, spec: EditSpec, *,
               config: EditorConfig | None = None, ref_frame: int = 0,
               compare: str | Path | None = None, progress: bool = True) -> EditSummary:
    """Edit frame ``ref_frame`` of ``input`` as ``spec`` says and carry it onto every frame.

    Writes exactly one output frame per decoded input frame to ``output`` (H.264, audio copied)
    and, with ``compare``, a side-by-side video input | output. A prompt edit also writes the
    edited reference beside the output (``<output>_reference.png``) for a person to check, and
    inpaints with the prompt at reference replacements when it names inpainting weights.
    """
    reader = VideoReader(input)
    reference = reader.frame(ref_frame)
    edited = spec.apply(reference)
    out_path = Path(output)
    saved = None
    if spec.prompt is not None:
        saved = out_path.with_name(out_path.stem + "_reference.png")
        saved.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(saved), cv2.cvtColor(edited, cv2.COLOR_RGB2BGR))
    inpainter = spec.prompt.inpainter() if spec.prompt is not None else None
    total = reader.info.frames or None
    writers = [VideoWriter(out_path, reader.info.fps, audio_from=reader.path)]
    if compare is not None:
        writers.append(VideoWriter(compare, reader.info.fps, audio_from=reader.path))
    start = time.perf_counter()
    frames = 0
    try:
        with StreamEditor(config, inpainter=inpainter) as editor:
            editor.set_reference(reference, edited, index=ref_frame)
            fed: deque[np.ndarray] = deque()  # inputs handed to the editor, not yet written

            def feed():
                for frame in _progress(reader, total, progress, Path(input).name):
                    fed.append(frame)
                    yield frame

            for result in editor.stream(feed(), pipelined=True):
                frame = fed.popleft()
                writers[0].write(result.frame)
                if compare is not None:
                    writers[1].write(_side_by_side(frame, result.frame))
            stats = editor.stats
            frames = stats.frames
    finally:
        for w in writers:
            w.close()
            if frames == 0:  # failed before the first frame: leave no empty file behind
                w.path.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    if frames == 0:
        raise VideoError(f"{reader.path} holds no decodable video frames")
    return EditSummary(Path(input), out_path, stats.frames, tuple(stats.reference_ids),
                       stats.faces_lost, stats.reinitialized, seconds, reader.info.has_audio,
                       reader.truncated, saved)


def _side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if right.shape != left.shape:
        right = cv2.resize(right, (left.shape[1], left.shape[0]))
    return np.concatenate([left, right], axis=1)


def _progress(frames, total: int | None, enabled: bool, name: str):
    if not enabled:
        return frames
    from tqdm import tqdm
    return tqdm(frames, total=total, unit="frame", desc=name, leave=False)
