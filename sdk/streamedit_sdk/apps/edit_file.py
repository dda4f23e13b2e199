"""Editing a whole video file: read, edit the reference, stream through the editor, write."""

from __future__ import annotations

import logging
import time
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from streamedit_sdk.apps.progress import track
from streamedit_sdk.apps.signals import StopSignals
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits.modes import ModeChoice
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.errors import VideoError
from streamedit_sdk.io.images import write_image
from streamedit_sdk.io.paths import check_outputs, check_video_output
from streamedit_sdk.io.video import VideoReader, VideoWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditSummary:
    """What one ``edit_video`` run did."""

    input: Path
    output: Path
    frames: int
    reference_ids: tuple[int, ...]  # stream index of each reference put in use, in order
    faces_lost: int
    reinitialized: int
    seconds: float  # wall time of the per-frame loop (decode + edit + encode)
    audio: bool
    truncated: bool
    edited_reference: Path | None = None  # the edited reference saved beside the output
    interrupted_by: str | None = None  # 'SIGINT' / 'SIGTERM' / 'SIGHUP' when a signal ended it
    returns: tuple[tuple[int, int], ...] = ()  # (frame, reference): the face came back and
    # the user's edited frame was the reference again (also in reference_ids)
    damaged: str | None = None  # frames that could not be decoded, and where (None: none)
    faceless_reference: bool = False  # the reference frame shows no face: flow carried it
    mode: ModeChoice | None = None  # how the edit was carried, and why

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def references_text(self) -> str:
        """``3 references (frames 0, 15, 50; back to reference 0 at frame 100)``."""
        returns = list(self.returns)
        new: list[int] = []
        for ref in self.reference_ids:  # a return is in reference_ids too, in its place
            if ref in new and returns and ref == returns[0][1]:
                returns.pop(0)
                continue
            new.append(ref)
        n = len(new)
        text = (f"{n} reference{'' if n == 1 else 's'} (frame{'' if n == 1 else 's'} "
                f"{', '.join(str(i) for i in new)}")
        if self.returns:
            backs = ", ".join(f"at frame {at}" for at, _ in self.returns)
            refs = {ref for _, ref in self.returns}
            ref = f"reference {refs.pop()}" if len(refs) == 1 else "the edited frame"
            text += f"; back to {ref} {backs}, when the face returned"
        return text + ")"

    def line(self) -> str:
        extra = [f"face lost in {self.faces_lost} frames"]
        if self.mode is not None:
            extra.insert(0, self.mode.describe())
        if self.interrupted_by:
            extra.insert(0, f"interrupted at frame {self.frames} by {self.interrupted_by}")
        if self.faceless_reference:
            extra.append("no face in the reference frame: the edit is carried by optical flow")
        if self.reinitialized:
            extra.append(f"{self.reinitialized} size changes")
        if self.damaged:
            extra.append(self.damaged)
        if self.truncated:
            extra.append("input ended early (truncated)")
        extra.append("audio copied" if self.audio else "no audio")
        if self.edited_reference is not None:
            extra.append(f"edited reference {self.edited_reference}")
        return (f"edited {self.frames} frames of {self.input.name} -> {self.output} in "
                f"{self.seconds:.1f} s ({self.fps:.1f} fps): {self.references_text()}, "
                + ", ".join(extra))


def edit_video(input: str | Path, output: str | Path, spec: EditSpec, *,
               config: EditorConfig | None = None, ref_frame: int = 0,
               compare: str | Path | None = None, progress: bool = True,
               pix_fmt: str = "yuv420p", mode: str | None = None) -> EditSummary:
    """Edit frame ``ref_frame`` of ``input`` as ``spec`` says and carry it onto every frame.

    Writes exactly one output frame per decoded input frame to ``output`` (H.264, audio copied)
    and, with ``compare``, a side-by-side video input | output; ``pix_fmt``: "yuv420p" (odd
    sizes padded by a pixel) or "yuv444p" (any size kept exactly), see :class:`VideoWriter`.
    A prompt edit also writes the edited reference beside the output
    (``<output>_reference.png``) for a person to check, and inpaints with the prompt at
    reference replacements when it names inpainting weights. Packets that cannot be decoded
    are skipped (the summary says how many and where). An edit that needs no face (a style,
    an edited frame, a prompt) is taken on a reference frame without one and carried by
    optical flow.

    ``mode``: the propagation mode; None chooses it from the edit made
    (:meth:`EditSpec.mode_for`: residual for an edit of a small part of the picture, replace
    for one of the whole look), and the summary says which and why.

    Outputs are written under temporary names and renamed when complete; an output that is
    the input (or the other output) is refused with :class:`UnsafeOutputError`. SIGINT /
    SIGTERM / SIGHUP stop after the frames in hand (a second signal: at once): the outputs are
    finalised with every frame edited so far (and the audio up to there), no signal
    interrupts that, and the summary says ``interrupted_by``.
    """
    check_outputs([("input", input)], [("--output", output), ("--compare", compare)])
    check_video_output("--output", output)
    check_video_output("--compare", compare)
    reader = VideoReader(input)
    reference = reader.frame(ref_frame)
    edited = spec.apply(reference)
    chosen = (spec.mode_for(reference, edited) if mode is None
              else ModeChoice(mode, "as --mode asked"))
    out_path = Path(output)
    saved = None
    if spec.prompt is not None:
        saved = out_path.with_name(out_path.stem + "_reference.png")
        check_outputs([("input", input)], [("the edited reference", saved)])
        write_image(saved, edited)
    inpainter = spec.inpainter()
    start = time.perf_counter()
    with StopSignals(notice=f"stopping at once; {out_path.name} keeps the frames edited so "
                     "far (a moment)") as stop:
        writers = _open_writers(reader, out_path, compare, pix_fmt)
        editor = None
        try:
            editor = StreamEditor(config, inpainter=inpainter)
            editor.set_reference(reference, edited, index=ref_frame, mode=chosen.mode,
                                 needs_face=spec.needs_face)
            completed = _edit_frames(editor, reader, writers, stop=stop,
                                     label=Path(input).name,
                                     total=reader.info.frames or None, progress=progress)
        except BaseException:
            for w in writers:
                w.abort()
            if editor is not None:
                editor.close()
            raise
        frames = writers[0].frames
        try:
            _finish(writers, keep=frames > 0)
        finally:
            editor.close()
    seconds = time.perf_counter() - start
    if frames == 0 and stop.reason is None:
        raise VideoError(f"{reader.path} holds no decodable video frames")
    interrupted = None if completed else stop.reason  # (a signal while finishing a whole
    # video interrupted nothing)
    stats = editor.stats
    return EditSummary(Path(input), out_path, frames, tuple(stats.reference_ids),
                       stats.faces_lost, stats.reinitialized, seconds, reader.info.has_audio,
                       reader.truncated, saved, interrupted_by=interrupted,
                       returns=tuple(stats.returns),
                       damaged=reader.damage.describe() if reader.damage.count else None,
                       faceless_reference=not editor.reference_has_face, mode=chosen)


def _open_writers(reader: VideoReader, output: Path, compare: str | Path | None,
                  pix_fmt: str) -> list[VideoWriter]:
    """The output's writer, and the side-by-side one with ``compare`` (none left open when
    the second fails)."""
    writers = [VideoWriter(output, reader.info.fps, audio_from=reader.path, pix_fmt=pix_fmt)]
    if compare is not None:
        try:
            writers.append(VideoWriter(compare, reader.info.fps, audio_from=reader.path,
                                       pix_fmt=pix_fmt))
        except BaseException:
            writers[0].abort()
            raise
    return writers


def _finish(writers: list[VideoWriter], keep: bool) -> None:
    """Finalise every writer (playable, with the audio up to the last frame, renamed), or
    with ``keep`` False (nothing edited) remove them all; when one fails (a full disk), the
    others are removed too and the error raised."""
    for i, w in enumerate(writers):
        if not keep:
            w.abort()
            continue
        try:
            w.close()
        except BaseException:
            for other in writers[i + 1:]:
                other.abort()
            raise


def _edit_frames(editor: StreamEditor, reader: VideoReader, writers: list[VideoWriter], *,
                 stop: StopSignals, label: str, total: int | None, progress: bool) -> bool:
    """The per-frame loop: frames in order through the editor into the writers, until the
    video ends or ``stop`` is asked (the frames already handed to the editor are finished;
    asked again, they are dropped). True when every frame of the video was written."""
    # inputs handed to the editor, not yet written, with their presentation times
    fed: deque[tuple[np.ndarray, Fraction | None]] = deque()
    ended = []  # the video's frames all went in

    def feed():
        for frame, seconds in track(reader.timed(), label, total, enabled=progress):
            if stop.reason is not None:
                return
            fed.append((frame, seconds))
            yield frame
        ended.append(True)

    with closing(editor.stream(feed(), pipelined=True)) as results:
        for result in results:
            frame, seconds = fed.popleft()
            writers[0].write(result.frame, seconds)  # (variable frame rates keep their timing)
            if len(writers) > 1:
                writers[1].write(_side_by_side(frame, result.frame), seconds)
            if stop.again:
                return False
    return bool(ended) and not fed


def _side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if right.shape != left.shape:
        right = cv2.resize(right, (left.shape[1], left.shape[0]))
    return np.concatenate([left, right], axis=1)
