"""Person mask (MediaPipe selfie segmentation): the region whose uncertainty drives ARR."""

from __future__ import annotations

import numpy as np

from streamedit_sdk.perception import mediapipe as _mediapipe


class PersonSegmenter:
    """``mask(rgb)`` -> (H, W) bool, True on the person. RGB uint8 (H, W, 3) in. Not thread-safe.

    MediaPipe's selfie segmentation, landscape model (144x256 input, the faster of its two)."""

    def __init__(self, threshold: float = 0.5) -> None:
        self._graph = _mediapipe.Segmenter()
        self._threshold = threshold

    def mask(self, rgb: np.ndarray) -> np.ndarray:
        return self._graph.probability(rgb) > self._threshold

    def close(self) -> None:
        self._graph.close()


class ReusedMask:
    """A segmenter run on every ``every``-th frame, its mask reused for the frames in between.

    The person mask only weighs the ARR score, which is averaged over several frames anyway, and
    the person moves little in a few frames; the segmentation network costs about as much as the
    face mesh. A frame of another size is always segmented. Not thread-safe.
    """

    def __init__(self, segmenter: PersonSegmenter, every: int) -> None:
        self._segmenter = segmenter
        self._every = every
        self._mask: np.ndarray | None = None
        self._age = 0

    def mask(self, rgb: np.ndarray) -> np.ndarray:
        if self._mask is None or self._age >= self._every or self._mask.shape != rgb.shape[:2]:
            self._mask = self._segmenter.mask(rgb)
            self._age = 0
        self._age += 1
        return self._mask

    def reset(self) -> None:
        """Forget the mask (the next frame is segmented)."""
        self._mask = None

    def close(self) -> None:
        self._segmenter.close()
