"""Temporal consistency: warping error between consecutive frames (Lai et al., ECCV 2018).

E(X) = sum_t sum_p M_t(p) |X_t(p) - X_{t-1}(F_t(p))|^2 / sum_t sum_p M_t(p), intensities 0..1,
where F_t is the optical flow of the *input* from frame t to t - 1 (DIS, preset MEDIUM, at the
work size) and M_t keeps the pixels whose forward and backward flows agree (not occluded). An
edited video is as steady as its input when E(output) / E(input) is about 1; flicker raises it.
"""

from __future__ import annotations

import cv2
import numpy as np

from streamedit_sdk.frames import to_work
from streamedit_sdk.maps import identity_map, resize_map


class WarpingError:
    """Accumulates E for several videos of the same frames (``input``, ``output``, ...).

    Call :meth:`add` once per frame, in order, with the input frame and the same-index frame of
    every tracked video (all (H, W, 3) uint8); :meth:`ratio` gives E(name) / E(input).
    """

    def __init__(self, work_side: int, names: tuple[str, ...]) -> None:
        self._side = work_side
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._names = ("input",) + tuple(names)
        self._sums = dict.fromkeys(self._names, 0.0)
        self._count = 0.0
        self._prev: tuple[np.ndarray, dict[str, np.ndarray]] | None = None

    def add(self, frame: np.ndarray, videos: dict[str, np.ndarray]) -> None:
        gray = cv2.cvtColor(to_work(frame, self._side), cv2.COLOR_RGB2GRAY)
        current = {"input": frame, **videos}
        if self._prev is not None:
            prev_gray, previous = self._prev
            to_prev, mask = self._flow(gray, prev_gray, frame.shape[1], frame.shape[0])
            self._count += float(mask.sum())
            for name in self._names:
                warped = cv2.remap(previous[name], to_prev, None, cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
                diff = (current[name].astype(np.float32) - warped.astype(np.float32)) / 255.0
                self._sums[name] += float(((diff * diff).sum(axis=2) * mask).sum())
        self._prev = (gray, current)

    def error(self, name: str) -> float:
        """E(name): mean squared warping error per valid pixel (sum over RGB), 0..3."""
        return self._sums[name] / self._count if self._count else float("nan")

    def ratio(self, name: str) -> float:
        e_in = self.error("input")
        return self.error(name) / e_in if e_in > 0 else float("nan")

    def _flow(self, gray: np.ndarray, prev_gray: np.ndarray, width: int,
              height: int) -> tuple[np.ndarray, np.ndarray]:
        """Map frame t -> t-1 (full-size px) and the non-occluded mask (H, W) float32."""
        h, w = gray.shape
        grid = identity_map(h, w)
        back = self._dis.calc(gray, prev_gray, None)  # t -> t-1
        fwd = self._dis.calc(prev_gray, gray, None)  # t-1 -> t
        fwd_at = cv2.remap(fwd, grid + back, None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        # forward-backward consistency (Sundaram et al. 2010), as in Lai et al.'s occlusion mask
        loop = ((back + fwd_at) ** 2).sum(-1)
        bound = 0.01 * ((back ** 2).sum(-1) + (fwd_at ** 2).sum(-1)) + 0.5
        mask = (loop <= bound).astype(np.float32)
        full = resize_map(grid + back, width, height)
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
        return full, mask
