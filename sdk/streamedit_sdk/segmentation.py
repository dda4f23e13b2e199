"""Person mask (MediaPipe selfie segmentation): the region whose uncertainty drives ARR."""

from __future__ import annotations

import numpy as np

from . import _mediapipe


class PersonSegmenter:
    """``mask(rgb)`` -> (H, W) bool, True on the person. RGB uint8 (H, W, 3) in. Not thread-safe."""

    def __init__(self, threshold: float = 0.5) -> None:
        mp = _mediapipe.solutions()
        # model 1 (landscape, 144x256) is the faster of the two bundled models
        self._graph = mp.selfie_segmentation.SelfieSegmentation(model_selection=1)
        self._threshold = threshold

    def mask(self, rgb: np.ndarray) -> np.ndarray:
        with _mediapipe.quiet():
            prob = self._graph.process(rgb).segmentation_mask
        if prob is None:
            return np.zeros(rgb.shape[:2], bool)
        return prob > self._threshold

    def close(self) -> None:
        self._graph.close()
