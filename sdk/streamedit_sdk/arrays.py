"""Where the per-frame arrays live: the editor's operations, written once, run on either side.

:mod:`~streamedit_sdk.ops` and the editor call the few array operations below through an
:class:`ArrayOps`; :class:`HostOps` runs them with numpy, OpenCV and the C++ kernels, and
:class:`~streamedit_sdk.device.TorchOps` with torch tensors and the CUDA kernels on the device
(the frame is uploaded once, the output downloaded once). Images are (H, W[, C]); maps are
(H, W, 2) float32 absolute px (x, y); masks are (H, W) bool.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import cv2
import numpy as np

from . import kernels
from .correspondence import identity_map
from .frames import paste, resize_to
from .replacement import uncertain_fraction


class ArrayOps(Protocol):
    """The array operations the editor needs, on one side (host or device)."""

    name: str  # "host", "cuda", "cpu" (torch on the CPU: the device path's reference)
    resizes_uploads: bool  # True: upload_frame makes the work frame from the uploaded frame
    # (it reads only the size of the host work frame); False: it takes the host work frame

    def upload_frame(self, rgb: np.ndarray,
                     work: np.ndarray | tuple[int, int]) -> tuple[Any, Any]:
        """(frame, work frame) on this side from the host frame and its work-size version, or
        the work size (width, height) alone (the frame is then resized on this side)."""

    def download_frame(self, frame: Any) -> np.ndarray:
        """(H, W, 3) uint8 host copy of an output frame."""

    def from_host(self, a: np.ndarray) -> Any:
        """A host array on this side."""

    def to_host(self, a: Any) -> np.ndarray:
        """This side's array as a host numpy array (no copy on the host)."""

    def download_later(self, *arrays: Any) -> Callable[[], tuple[np.ndarray | None, ...]]:
        """Start copying ``arrays`` (None allowed) to the host without waiting; the returned
        function waits for the copies and returns them as numpy arrays. It may be called from
        another thread; the arrays must not be written to until it has returned."""

    def identity_map(self, height: int, width: int) -> Any:
        """(h, w, 2) float32 map of every pixel to itself."""

    def resize_image(self, image: Any, width: int, height: int) -> Any:
        """Area average when shrinking, bilinear when growing; dtype kept."""

    def resize_map(self, small: Any, width: int, height: int) -> Any:
        """A px map at another size, values scaled, pixel centres aligned."""

    def grid_sample(self, src: Any, at: Any, fallback: Any = None, valid: Any = None,
                    border: str = "replicate") -> Any:
        """:func:`streamedit_sdk.kernels.grid_sample` on this side."""

    def sample_where(self, out: Any, src: Any, at: Any, fallback: Any, mask: Any) -> Any:
        """``out`` where ``mask`` is False, grid_sample(src, at, fallback) where it is True."""

    def landmark_map(self, points_cur: np.ndarray, points_ref: np.ndarray,
                     triangles: np.ndarray, height: int, width: int, fallback: Any) -> Any:
        """Barycentric warp (host landmarks), ``fallback`` where no triangle covers a pixel."""

    def paste(self, dst: Any, src: Any, mask: Any) -> Any:
        """``src`` where ``mask``, else ``dst``; may write into ``dst``."""

    def subtract(self, edited: Any, rgb: Any) -> Any:
        """float32 ``edited - rgb`` of two uint8 images."""

    def add_delta(self, frame: Any, delta: Any) -> Any:
        """uint8 ``frame + delta``, rounded half up and clipped."""

    def any(self, mask: Any) -> bool:
        """True where any element is set (a device sync)."""

    def fraction_above(self, sigma: Any, region: np.ndarray | None, threshold: float) -> Any:
        """Share of ``region`` (host bool mask; None: all) where sigma > threshold, as a
        scalar ``float()`` reads (on the device: read it after the frame's download, so the
        frame waits for the GPU once)."""

    def as_uint8(self, mask: Any) -> Any:
        """A bool mask as uint8 0/1 (a view where the library allows)."""

    def all_finite(self, *arrays: Any) -> Any:
        """Whether every element of ``arrays`` is finite, as a scalar ``bool()`` reads (on
        the device: read it after the frame's download)."""


class HostOps:
    """:class:`ArrayOps` with numpy, OpenCV and the multi-threaded C++ kernels.

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

    def sample_where(self, out, src, at, fallback, mask):
        # few pixels (what an old reference did not see), so only they are sampled
        idx = np.flatnonzero(mask)  # (flat indices: much faster than a bool mask)
        if idx.size:
            c = out.shape[2]
            out.reshape(-1, c)[idx] = self.grid_sample(
                src, at.reshape(-1, 2)[idx][:, None],
                fallback=fallback.reshape(-1, c)[idx][:, None])[:, 0]
        return out

    def landmark_map(self, points_cur, points_ref, triangles, height, width, fallback):
        warp = kernels.barycentric_warp(points_cur, points_ref, triangles, height, width,
                                        num_threads=self.num_threads)
        holes = warp.mask == 0
        return paste(warp.map, fallback, holes) if holes.any() else warp.map

    def paste(self, dst, src, mask):
        return paste(dst, src, mask)

    def subtract(self, edited, rgb):
        return edited.astype(np.float32) - rgb.astype(np.float32)

    def add_delta(self, frame, delta):
        out = delta + frame
        out += 0.5
        return np.clip(out, 0, 255, out=out).astype(np.uint8)

    def any(self, mask) -> bool:
        return bool(mask.any())

    def fraction_above(self, sigma, region, threshold) -> float:
        return uncertain_fraction(sigma, region, threshold)

    def as_uint8(self, mask):
        return mask.view(np.uint8)

    def all_finite(self, *arrays) -> bool:
        # a sum is not finite when any term is not (NaN propagates, inf - inf is NaN); one
        # pass instead of a boolean image per array
        return all(np.isfinite(a.sum(dtype=np.float64)) for a in arrays)


def resize_map(small: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a map of px at one size to (height, width, 2) float32 px at another.

    Pixel centres are aligned (x_full = (x_work + 0.5) * sx - 0.5), as in ``cv2.resize``.
    """
    h, w = small.shape[:2]
    if (h, w) == (height, width):
        return small
    sx, sy = width / w, height / h
    # bilinear weights sum to one, so scaling the values first gives the same map, on 1/s^2
    # as many pixels (cv2.transform: numpy broadcasting over a last axis of 2 is 20x slower)
    affine = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]], np.float32)
    return cv2.resize(cv2.transform(small, affine), (width, height),
                      interpolation=cv2.INTER_LINEAR)
