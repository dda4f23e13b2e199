"""The host side: :class:`~streamedit_sdk.sides.base.ArrayOps` with numpy, OpenCV and the
multi-threaded C++ kernels."""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from streamedit_sdk import kernels
from streamedit_sdk.backends.base import Backend
from streamedit_sdk.frames import paste, resize_to
from streamedit_sdk.maps import identity_map, off_reference, resize_map, uncertain_fraction
from streamedit_sdk.sides.base import shrink_for


class HostOps:
    """:class:`~streamedit_sdk.sides.base.ArrayOps` with numpy, OpenCV and the multi-threaded C++ kernels.

    ``num_threads``: C++ kernel threads (0: all cores)."""

    name = "host"
    resizes_uploads = False

    def __init__(self, num_threads: int = 0) -> None:
        self.num_threads = num_threads

    def upload_frame(self, rgb: np.ndarray,
                     work: np.ndarray | tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        return rgb, resize_to(rgb, *work) if isinstance(work, tuple) else work

    def download_frame(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def from_host(self, a: np.ndarray) -> np.ndarray:
        return a

    def to_host(self, a: np.ndarray) -> np.ndarray:
        return a

    def download_later(self, *arrays: np.ndarray | None
                       ) -> Callable[[], tuple[np.ndarray | None, ...]]:
        return lambda: arrays

    def identity_map(self, height: int, width: int) -> np.ndarray:
        return identity_map(height, width)

    def resize_image(self, image: np.ndarray, width: int, height: int) -> np.ndarray:
        return resize_to(image, width, height)

    def resize_map(self, small: np.ndarray, width: int, height: int) -> np.ndarray:
        return resize_map(small, width, height)

    def grid_sample(self, src, at, fallback=None, valid=None, border="replicate"):
        return kernels.grid_sample(src, at, fallback=fallback, valid=valid, border=border,
                                   num_threads=self.num_threads)

    def lk_refine(self, cur, ref, init, iterations: int, window: int = 5) -> np.ndarray:
        return kernels.lk_refine(cur, ref, init, iterations=iterations, window=window,
                                 num_threads=self.num_threads)

    def gaussian_blur(self, field: np.ndarray, sigma: float) -> np.ndarray:
        if sigma <= 0:
            return field
        r = max(1, int(round(3 * sigma)))
        return cv2.GaussianBlur(field, (2 * r + 1, 2 * r + 1), sigma,
                                borderType=cv2.BORDER_REFLECT_101)

    def landmark_map(self, points_cur, points_ref, triangles, height, width, fallback):
        warp = kernels.barycentric_warp(points_cur, points_ref, triangles, height, width,
                                        num_threads=self.num_threads)
        holes = warp.mask == 0
        return paste(warp.map, fallback, holes) if holes.any() else warp.map

    def edit_weight(self, delta, full):
        return kernels.edit_weight(np.ascontiguousarray(delta), full,
                                   num_threads=self.num_threads)

    def blend_edit(self, frame, delta, src=None, corr_map=None, edit_map=None, valid=None,
                   full=16.0):
        return kernels.blend_edit(frame, np.ascontiguousarray(delta, np.float32), src, corr_map,
                                  edit_map, valid, full=full, num_threads=self.num_threads)

    def raise_where_off(self, sigma, corr_map):
        return np.where(off_reference(corr_map), np.float32(1.0), sigma)

    def paste(self, dst, src, mask):
        return paste(dst, src, mask)

    def subtract(self, edited, rgb):
        return edited.astype(np.float32) - rgb.astype(np.float32)

    def add_delta(self, frame, delta):
        return self.blend_edit(frame, delta)

    def gray(self, rgb: np.ndarray) -> np.ndarray:
        # one pass to float (astype, then a multiply, took two)
        return np.multiply(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.float32(1 / 255),
                           dtype=np.float32)

    def network_image(self, rgb: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) * (1 / 255)

    def nchw(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a[None, None] if a.ndim == 2 else a.transpose(2, 0, 1)[None])

    def hwc(self, t: np.ndarray) -> np.ndarray:
        return t[0, 0] if t.shape[1] == 1 else t[0].transpose(1, 2, 0)

    def exp(self, a: np.ndarray) -> np.ndarray:
        return np.exp(a)

    def scale_displacement(self, delta: np.ndarray, width: int, height: int) -> np.ndarray:
        h, w = delta.shape[:2]
        out = cv2.resize(delta, (width, height), interpolation=cv2.INTER_LINEAR)
        out *= np.array([width / w, height / h], np.float32)
        return out

    def infer(self, network: Backend, feeds: dict[str, np.ndarray],
              outputs: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
        return network.infer(feeds)

    def any(self, mask) -> bool:
        return bool(mask.any())

    def fraction_above(self, sigma, region, threshold) -> float:
        return uncertain_fraction(sigma, region, threshold)

    def as_uint8(self, mask):
        return mask.view(np.uint8)

    def crop(self, a, y0, y1, x0, x1):
        return np.ascontiguousarray(a[y0:y1, x0:x1])

    def box_where(self, mask):
        x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
        return None if w == 0 else (y, y + h, x, x + w)

    def smooth_where(self, values, mask, sigma):
        h, w = mask.shape
        k = shrink_for(sigma)
        size = (max(1, w // k), max(1, h // k))
        weight = mask.astype(np.float32)
        num = resize_to(values * weight[..., None], *size)
        den = resize_to(weight, *size)
        s = max(sigma / k, 0.5)
        num = cv2.GaussianBlur(num, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
        den = cv2.GaussianBlur(den, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
        num /= np.maximum(den, np.float32(1e-3))[..., None]
        return resize_to(num, w, h)

    def all_finite(self, *arrays) -> bool:
        # a sum is not finite when any term is not (NaN propagates, inf - inf is NaN); one
        # pass instead of a boolean image per array
        return all(np.isfinite(a.sum(dtype=np.float64)) for a in arrays)
