"""The types every correspondence estimator shares, and the protocol the editor calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np


@dataclass(frozen=True)
class ReferenceFeatures:
    """What an estimator keeps per reference (each estimator subclasses it)."""


@dataclass(frozen=True)
class Correspondence:
    """Output of an estimator at work size (h, w).

    map: (h, w, 2) float32, absolute reference px (x, y), finite everywhere: where each
        pixel's content is in the reference (what the reference's own pixels are warped by).
    sigma: (h, w) float32 Laplace scale of the intensity error (0..1 units), > 0.
    edit_map: (h, w, 2) float32, the map the user's edit travels by (the face-led map:
        geometry first on the face, :mod:`~streamedit_sdk.correspondence.face_lead`;
        :data:`~streamedit_sdk.maps.OFF_REFERENCE` where the reference did not see the pixel),
        or None: ``map``.
    """

    map: np.ndarray
    sigma: np.ndarray
    edit_map: np.ndarray | None = None


# The editor's map for the edit, made from the estimated map: (h, w, 2) float32 reference px
# in and out (the face-led map, streamedit_sdk.correspondence.face_lead).
Lead = Callable[[np.ndarray], np.ndarray]


class CorrespondenceModel(Protocol):
    """The two model operations the editor sequences (encode reference, predict)."""

    def encode_reference(self, rgb: np.ndarray) -> ReferenceFeatures:
        """What the estimator keeps of a reference: ``rgb`` (h, w, 3) uint8 at work size."""

    def begin(self, rgb: np.ndarray, reference: ReferenceFeatures, init_map: np.ndarray
              ) -> object | None:
        """The part of :meth:`predict` that needs no landmarks, run while the frame's face
        mesh is still measuring (on another core); None where the estimator has no such part.
        What it returns goes to :meth:`predict` (``begun``) with the same frame, reference and
        ``init_map``."""

    def begun_map(self, begun: object | None) -> np.ndarray | None:
        """The map :meth:`predict` returns (:attr:`Correspondence.map`, the very array) for a
        frame :meth:`begin` made ``begun`` of, so the next frame may begin from it before
        this one is predicted; None where it is not known until then."""

    def predict(self, rgb: np.ndarray, reference: ReferenceFeatures, init_map: np.ndarray,
                landmarks: np.ndarray | None = None, lead: Lead | None = None,
                begun: object | None = None) -> Correspondence:
        """Map and sigma at work size; ``landmarks``: (478, 2) work px of the current frame,
        or None where no face was found; ``lead``: makes the edit's map from the estimated
        one (:attr:`Correspondence.edit_map`; pixels it sends off the reference get the largest
        sigma); None: the edit travels by the estimated map. ``begun``: what :meth:`begin`
        made of this frame, or None."""

    def close(self) -> None:
        """Release what the model holds (sessions, engines); idempotent."""
