"""What carries the fidelity probes onto later frames: the SDK, and DIS optical flow as a user
of plain optical flow would run it; and the independent face mesh the probes are placed by."""

from __future__ import annotations

from collections import deque
from itertools import chain
from typing import Iterable, Iterator

import numpy as np

from streamedit_sdk.apps.baselines import DisBaseline
from streamedit_sdk.apps.eval import fidelity
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.frames import to_work
from streamedit_sdk.perception.landmarks import LandmarkTracker


def mesh_truth(frames: Iterable[np.ndarray], side: int) -> list[np.ndarray | None]:
    """The independent face mesh of a clip: each frame's landmarks (478, 2) in its own px,
    meshed at work size ``side`` in video mode (a small face in a crop of the frame at its own
    size, as the SDK meshes it), or None where no face is found.

    Frame 0 is measured as :meth:`LandmarkTracker.reference` measures a reference: the face
    mesh tracking an unchanged image settles up to ~4 px from where it first detects the face,
    so a truth taken from the detection would put a jump into frame 1 that the face never
    made (and score against it every later frame's edit)."""
    with LandmarkTracker() as tracker:
        return [full_size_landmarks(tracker, f, side, first=i == 0)
                for i, f in enumerate(frames)]


def full_size_landmarks(tracker: LandmarkTracker, frame: np.ndarray, side: int,
                        first: bool = False) -> np.ndarray | None:
    """Landmarks of ``frame`` (478, 2) in its own px, meshed at work size ``side`` (a small
    face in a crop of ``frame`` itself) (``first``: a stream's first frame, measured as a
    reference is, as :class:`~streamedit_sdk.core.editor.StreamEditor` measures the frame it
    is given with)."""
    work = to_work(frame, side)
    lm = tracker.track(work, frame)
    if first and lm is not None:  # (tracked too: the next frames are tracked from it)
        lm = tracker.reference(work, frame)
    if lm is None:
        return None
    return lm * np.array([frame.shape[1] / work.shape[1], frame.shape[0] / work.shape[0]],
                         np.float32)


def sdk_propagator(config: EditorConfig) -> fidelity.Propagator:
    """The SDK with ``config``, its reference frame 0 with the probes drawn. Run as
    ``streamedit edit`` runs it (``StreamEditor.stream``: the frames of ``process``, sooner)."""
    def run(first: np.ndarray, edited: np.ndarray, rest: Iterator[np.ndarray]):
        given: deque[np.ndarray] = deque()  # the frames the stream has taken, not yet edited

        def feed() -> Iterator[np.ndarray]:
            for frame in chain([first], rest):
                given.append(frame)
                yield frame
        with StreamEditor(config) as editor:
            editor.set_reference(first, edited, index=0)
            for index, result in enumerate(editor.stream(feed())):
                frame = given.popleft()
                if index:  # (frame 0 is the reference itself)
                    yield frame, result.frame
    return run


def dis_propagator(matcher: DisBaseline, interval: int) -> fidelity.Propagator:
    """DIS flow carrying the edit's difference, with a new reference every ``interval``
    frames whose edit is the one carried onto it (what a user of plain optical flow gets)."""
    def run(first: np.ndarray, edited: np.ndarray, rest: Iterator[np.ndarray]):
        ref = matcher.observe(first)
        delta = edited.astype(np.float32) - first.astype(np.float32)
        for index, frame in enumerate(rest, start=1):
            obs = matcher.observe(frame)
            carried = matcher.warp(obs, ref, delta)
            yield frame, np.clip(frame + carried + 0.5, 0, 255).astype(np.uint8)
            if index % interval == 0:
                ref, delta = obs, carried
    return run
