"""The types every correspondence estimator shares, and the protocol the editor calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ReferenceFeatures:
    """What an estimator keeps per reference (each estimator subclasses it)."""


@dataclass(frozen=True)
class Correspondence:
    """Output of an estimator at work size (h, w).

    map: (h, w, 2) float32, absolute reference px (x, y), finite everywhere.
    sigma: (h, w) float32 Laplace scale of the intensity error (0..1 units), > 0.
    """

    map: np.ndarray
    sigma: np.ndarray


class CorrespondenceModel(Protocol):
    """The two model operations the editor sequences (encode reference, predict)."""

    def encode_reference(self, rgb: np.ndarray) -> ReferenceFeatures:
        """What the estimator keeps of a reference: ``rgb`` (h, w, 3) uint8 at work size."""

    def predict(self, rgb: np.ndarray, reference: ReferenceFeatures, init_map: np.ndarray,
                landmarks: np.ndarray | None = None) -> Correspondence:
        """Map and sigma at work size; ``landmarks``: (478, 2) work px of the current frame,
        or None where no face was found."""

    def close(self) -> None:
        """Release what the model holds (sessions, engines); idempotent."""
