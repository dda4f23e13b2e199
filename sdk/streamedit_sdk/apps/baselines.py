"""The optical-flow baseline that ``eval`` and ``bench`` measure the SDK against."""

from __future__ import annotations

import cv2
import numpy as np

from streamedit_sdk.frames import to_work
from streamedit_sdk.maps import identity_map, resize_map


class DisBaseline:
    """OpenCV DIS optical flow (preset MEDIUM), current -> reference, at the SDK's work size;
    the map is upsampled to the frame and the reference (or its edit) warped with ``cv2.remap``.

    ``observe`` once per frame, then ``warp`` any observed frame onto another.
    """

    def __init__(self, work_side: int) -> None:
        self._side = work_side
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def observe(self, frame: np.ndarray) -> np.ndarray:
        """(h, w) uint8 grey image of ``frame`` (RGB uint8) at work size."""
        return cv2.cvtColor(to_work(frame, self._side), cv2.COLOR_RGB2GRAY)

    def warp(self, current: np.ndarray, reference: np.ndarray,
             reference_image: np.ndarray) -> np.ndarray:
        """``reference_image`` (H, W, C) warped onto the frame observed as ``current``."""
        h, w = current.shape
        corr = identity_map(h, w) + self._dis.calc(current, reference, None)  # cur(x)~ref(x+f)
        full = resize_map(corr, reference_image.shape[1], reference_image.shape[0])
        return cv2.remap(reference_image, full, None, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
