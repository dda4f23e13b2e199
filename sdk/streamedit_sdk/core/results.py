"""What the editor returns per frame, and its counters over a stream."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streamedit_sdk.sides.base import Array


@dataclass(frozen=True)
class EditResult:
    """What :meth:`StreamEditor.process` returns for one frame.

    frame: (H, W, 3) uint8 edited frame, in the configured channel order (host numpy).
    map: (H, W, 2) float32 correspondence current -> reference, absolute reference px (x, y).
    sigma: (H, W) float32 Laplace scale of the correspondence error (intensity, 0..1 units).
    ``map`` and ``sigma`` are numpy arrays on the host backends and torch tensors on the
    device with the GPU backends (they are not copied back; ``.cpu().numpy()`` when needed).
    reference_id: stream index of the frame that is the reference for this output.
    replaced: True when this frame became the new reference (ARR). With
        ``ReplacementConfig.swap_delay`` d > 0 the next frame uses it with its edit as
        carried, and frame d after this one with the edit inpainted where the old reference
        did not see (made on a worker meanwhile).
    face_found: False when no landmarks were found (the map comes from image content alone);
        with ``EditorConfig.lagged_landmarks``, the landmarks of the frame before.
    uncertain_fraction: share of the ARR region whose sigma is above the pixel threshold.
    index: stream index of this frame (0 for the first ``process`` call).
    passed_through: True when the correspondence model returned NaN or infinite values (a
        faulty engine): the frame is the input, unedited, and the stream goes on.
    visibility: (h, w) float32 0..1 host, at work size (``EditorConfig.work_side``): 1 where
        the frame shows the face surface of the user's edited frame (and off the face, which
        it does not judge), 0 where something hides it (a hand, an object, hair, the face
        turned away): the edit is not drawn there. None when no face was judged (no face on
        the frame, or ``EditorConfig.visibility`` None).
    hidden_share: the share of the face that is hidden, 0..1 (0 with no face judged); while
        it is above ``Visibility.hold_above`` no new reference is taken.
    """

    frame: np.ndarray
    map: Array
    sigma: Array
    reference_id: int
    replaced: bool
    face_found: bool
    uncertain_fraction: float
    index: int
    passed_through: bool = False  # the correspondence was not finite: the input frame, unedited
    visibility: np.ndarray | None = None
    hidden_share: float = 0.0


@dataclass
class EditorStats:
    """Counters over the stream since the last :meth:`StreamEditor.reset`."""

    frames: int = 0
    faces_lost: int = 0  # frames without landmarks, edited from image content alone
    engine_faults: int = 0  # frames passed through because the map or sigma was not finite
    reinitialized: int = 0  # frame-size changes that re-initialised the reference
    reference_ids: list[int] = field(default_factory=list)  # stream index of every reference
    # put in use, in order (a return below is listed again)
    returns: list[tuple[int, int]] = field(default_factory=list)  # (frame, reference id): the
    # face came back and the user's edited frame became the reference again

    @property
    def references(self) -> int:
        return len(self.reference_ids)
