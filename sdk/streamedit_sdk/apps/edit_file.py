"""Editing a whole video file: read, edit the reference, stream through the editor, write."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.apps.progress import track
from streamedit_sdk.apps.signals import StopSignals
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.errors import VideoError
from streamedit_sdk.io.paths import check_outputs
from streamedit_sdk.io.video import VideoReader, VideoWriter

log = logging.getLogger(__name__)


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
    interrupted_by: str | None = None  # 'SIGINT' / 'SIGTERM' when a signal ended the run

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        refs = ", ".join(str(i) for i in self.reference_ids)
        extra = [f"face lost in {self.faces_lost} frames"]
        if self.interrupted_by:
            extra.insert(0, f"interrupted at frame {self.frames} by {self.interrupted_by}")
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
               compare: str | Path | None = None, progress: bool = True,
               pix_fmt: str = "yuv420p") -> EditSummary:
    """Edit frame ``ref_frame`` of ``input`` as ``spec`` says and carry it onto every frame.

    Writes exactly one output frame per decoded input frame to ``output`` (H.264, audio copied)
    and, with ``compare``, a side-by-side video input | output; ``pix_fmt``: "yuv420p" (odd
    sizes padded by a pixel) or "yuv444p" (any size kept exactly), see :class:`VideoWriter`.
    A prompt edit also writes the edited reference beside the output (``<output>_reference.png``) for a person to check, and
    inpaints with the prompt at reference replacements when it names inpainting weights.

    Outputs are written under temporary names and renamed when complete; an output that is
    the input (or the other output) is refused with :class:`UnsafeOutputError`. SIGINT /
    SIGTERM stop after the frames in hand: the outputs are finalised with every frame edited
    so far (and the audio up to there) and the summary says ``interrupted_by``.
    """
    check_outputs([("input", input)], [("--output", output), ("--compare", compare)])
    reader = VideoReader(input)
    reference = reader.frame(ref_frame)
    edited = spec.apply(reference)
    out_path = Path(output)
    saved = None
    if spec.prompt is not None:
        saved = out_path.with_name(out_path.stem + "_reference.png")
        check_outputs([("input", input)], [("the edited reference", saved)])
        saved.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(saved), cv2.cvtColor(edited, cv2.COLOR_RGB2BGR))
    inpainter = spec.prompt.inpainter() if spec.prompt is not None else None
    total = reader.info.frames or None
    writers = [VideoWriter(out_path, reader.info.fps, audio_from=reader.path, pix_fmt=pix_fmt)]
    if compare is not None:
        try:
            writers.append(VideoWriter(compare, reader.info.fps, audio_from=reader.path,
                                       pix_fmt=pix_fmt))
        except BaseException:
            writers[0].abort()  # leave no partial file of the first behind
            raise
    start = time.perf_counter()
    editor = None
    with StopSignals() as stop:
        try:
            editor = StreamEditor(config, inpainter=inpainter)
            editor.set_reference(reference, edited, index=ref_frame)
            _edit_frames(editor, reader, writers, stop=stop, label=Path(input).name,
                         total=total, progress=progress)
        except KeyboardInterrupt:  # a second Ctrl-C: keep what was written, stop now
            stop.reason = stop.reason or "SIGINT"
        except BaseException:
            for w in writers:
                w.abort()
            raise
        finally:
            if editor is not None:
                editor.close()
    frames = writers[0].frames
    for w in writers:  # finalise: playable, with the audio up to the last frame, renamed
        if frames:
            w.close()
        else:  # nothing edited: leave no empty file behind
            w.abort()
    seconds = time.perf_counter() - start
    if frames == 0 and stop.reason is None:
        raise VideoError(f"{reader.path} holds no decodable video frames")
    stats = editor.stats if editor is not None else None  # (kept by an interrupted loop too)
    return EditSummary(Path(input), out_path, frames,
                       tuple(stats.reference_ids) if stats else (),
                       stats.faces_lost if stats else 0, stats.reinitialized if stats else 0,
                       seconds, reader.info.has_audio, reader.truncated, saved,
                       interrupted_by=stop.reason)


def _edit_frames(editor: StreamEditor, reader: VideoReader, writers: list[VideoWriter], *,
                 stop: StopSignals, label: str, total: int | None, progress: bool) -> None:
    """The per-frame loop: frames in order through the editor into the writers, until the
    video ends or ``stop`` is asked (the frames already handed to the editor are finished)."""
    # inputs handed to the editor, not yet written, with their presentation times
    fed: deque[tuple[np.ndarray, Fraction | None]] = deque()

    def feed():
        for frame, seconds in track(reader.timed(), label, total, enabled=progress):
            if stop.reason is not None:
                return
            fed.append((frame, seconds))
            yield frame

    for result in editor.stream(feed(), pipelined=True):
        frame, seconds = fed.popleft()
        writers[0].write(result.frame, seconds)  # (variable frame rates keep their timing)
        if len(writers) > 1:
            writers[1].write(_side_by_side(frame, result.frame), seconds)


def _side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if right.shape != left.shape:
        right = cv2.resize(right, (left.shape[1], left.shape[0]))
    return np.concatenate([left, right], axis=1)
