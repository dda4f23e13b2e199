"""Where a prompt edit may change the reference: the person, the face, or everything."""

from __future__ import annotations

import numpy as np

from streamedit_sdk.errors import NoFaceError
from streamedit_sdk.perception.landmarks import LandmarkTracker, face_hull_mask
from streamedit_sdk.perception.segmentation import PersonSegmenter

REGIONS = ("person", "face", "all")


def region_mask(rgb: np.ndarray, region: str) -> np.ndarray | None:
    """(H, W) bool, True where the edit may change pixels; None for "all".

    person: MediaPipe selfie segmentation; face: the face mesh's hull, grown by 15 % of the
    face width. Raises ``NoFaceError`` / ``ValueError`` when the region is not in the frame.
    """
    if region not in REGIONS:
        raise ValueError(f"edit region must be one of {', '.join(REGIONS)}; got {region!r}")
    if region == "all":
        return None
    h, w = rgb.shape[:2]
    if region == "face":
        with LandmarkTracker() as tracker:
            landmarks = tracker.detect(rgb)
        if landmarks is None:
            raise NoFaceError("no face in the reference frame to restrict the edit to: use "
                              "--edit-region person or all, or another --ref-frame")
        return face_hull_mask(landmarks, w, h)
    segmenter = PersonSegmenter()
    try:
        mask = segmenter.mask(rgb)
    finally:
        segmenter.close()
    if not mask.any():
        raise ValueError("no person found in the reference frame to restrict the edit to: use "
                         "--edit-region all, or another --ref-frame")
    return mask
