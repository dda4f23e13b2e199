"""The methods ``streamedit eval`` compares, each predicting every frame from its reference.

Reconstruction protocol (DESIGN.md, "How quality is measured"): the edit is the identity
(edited reference = reference), so a method's output for frame t is its reference warped onto
t. Frame 0 is every method's first reference. A frame that becomes a reference is itself
predicted from the reference before it, so no method scores a frame it was handed.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from itertools import chain
from typing import Iterable, Iterator, Protocol

import numpy as np

from streamedit_sdk import kernels
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core import ops
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.frames import to_work
from streamedit_sdk.maps import identity_map, resize_map
from streamedit_sdk.perception.landmarks import LandmarkTracker, WarpMesh


@dataclass(frozen=True)
class Prediction:
    """One frame as a method predicted it.

    frame, predicted: (H, W, 3) uint8 RGB, the truth and the reference warped onto it.
    reference_id: index of the frame the prediction was warped from.
    new_reference: this frame becomes the reference for the frames after it.
    sigma: (H, W) float32 predicted Laplace scale (intensity 0..1), where the method has one.
    """

    index: int
    frame: np.ndarray
    predicted: np.ndarray
    reference_id: int
    new_reference: bool
    sigma: np.ndarray | None = None


class EditorMethod:
    """The SDK itself (``StreamEditor``, replace mode) with the identity edit.

    ``seconds`` accumulates the wall time spent in ``StreamEditor.process`` only (not decoding,
    not scoring), for the fps ``eval`` reports.
    """

    def __init__(self, config: EditorConfig) -> None:
        self.config = dataclasses.replace(config, mode="replace")
        self.seconds = 0.0

    def predict(self, frames: Iterable[np.ndarray]) -> Iterator[Prediction]:
        it = iter(frames)
        first = next(it, None)
        if first is None:
            return
        with StreamEditor(self.config) as editor:
            editor.set_reference(first, first, index=0)
            ref_rgb, ref_id = first, 0
            for index, frame in enumerate(chain([first], it)):
                start = time.perf_counter()
                result = editor.process(frame)
                self.seconds += time.perf_counter() - start
                predicted = kernels.grid_sample(ref_rgb, _host(result.map), border="replicate")
                yield Prediction(index, frame, predicted, ref_id, result.replaced,
                                 _host(result.sigma))
                if result.replaced:  # identity edit: the new reference is the frame itself
                    ref_rgb, ref_id = frame, index


def _host(a) -> np.ndarray:
    """A result array on the host: numpy as is, a torch tensor (the GPU backends) copied."""
    return a if isinstance(a, np.ndarray) else a.detach().cpu().numpy()


class Matcher(Protocol):
    """A baseline correspondence: measure a frame once, then map it onto a reference."""

    def observe(self, frame: np.ndarray) -> object: ...

    def warp(self, current: object, reference: object, reference_frame: np.ndarray
             ) -> np.ndarray: ...


def fixed_interval(frames: Iterable[np.ndarray], interval: int,
                   matcher: Matcher) -> Iterator[Prediction]:
    """Predictions of a baseline with a new reference every ``interval`` frames (0, N, 2N...)."""
    if interval < 1:
        raise ValueError(f"interval must be >= 1, got {interval}")
    ref_obs = ref_frame = None
    ref_id = 0
    for index, frame in enumerate(frames):
        obs = matcher.observe(frame)
        if ref_frame is None:
            ref_obs, ref_frame = obs, frame
            yield Prediction(index, frame, frame, index, False)
            continue
        predicted = matcher.warp(obs, ref_obs, ref_frame)
        new = index - ref_id >= interval
        yield Prediction(index, frame, predicted, ref_id, new)
        if new:
            ref_obs, ref_frame, ref_id = obs, frame, index


class LandmarkMatcher:
    """The barycentric landmark warp alone (MediaPipe face mesh, border anchors), no refinement.

    Where either frame has no face the map is the identity. Close it (or use ``with``).
    """

    def __init__(self, work_side: int) -> None:
        self._side = work_side
        self._tracker = LandmarkTracker()

    def observe(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        work = to_work(frame, self._side)
        return work, self._tracker.track(work, frame)

    def warp(self, current, reference, reference_frame: np.ndarray) -> np.ndarray:
        work, landmarks = current
        ref_work, ref_landmarks = reference
        h, w = work.shape[:2]
        grid = identity_map(h, w)
        if landmarks is None or ref_landmarks is None:
            small = grid
        else:
            mesh = WarpMesh.build(ref_landmarks, ref_work.shape[1], ref_work.shape[0])
            small = ops.landmark_map(mesh, landmarks, h, w, grid)
        full = resize_map(small, reference_frame.shape[1], reference_frame.shape[0])
        return kernels.grid_sample(reference_frame, full, border="replicate")

    def close(self) -> None:
        self._tracker.close()

    def __enter__(self) -> "LandmarkMatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
