"""The array operations the editor's work is written against, on one side (host or device).

:mod:`~streamedit_sdk.core.ops`, the editor and the PPCE estimator call the operations below
through an :class:`ArrayOps` (``xp``); :class:`~streamedit_sdk.sides.host.HostOps` runs them
with numpy, OpenCV and the C++ kernels, :class:`~streamedit_sdk.sides.torch.TorchOps` with
torch tensors and the CUDA kernels on the device (the frame is uploaded once, the output
downloaded once). Images are (H, W[, C]); maps are (H, W, 2) float32 absolute px (x, y); masks
are (H, W) bool.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, TypeAlias

import numpy as np

from streamedit_sdk.backends.base import Backend

HostImage: TypeAlias = np.ndarray  # a numpy array on the host
Array: TypeAlias = Any  # an array on a side: numpy on the host, a torch tensor on a device


def shrink_for(sigma: float, most: int = 8, least: float = 2.0) -> int:
    """Downsampling factor (1 to ``most``) at which a field smoothed by a Gaussian of
    ``sigma`` px keeps at least ``least`` px of sigma (is sampled that often)."""
    return int(min(most, max(1.0, sigma / least)))


class ArrayOps(Protocol):
    """The array operations the editor needs, on one side (host or device)."""

    name: str  # "host", "cuda", "cpu" (torch on the CPU: the device path's reference)
    resizes_uploads: bool  # True: upload_frame makes the work frame from the uploaded frame
    # (it reads only the size of the host work frame); False: it takes the host work frame

    def upload_frame(self, rgb: np.ndarray,
                     work: np.ndarray | tuple[int, int]) -> tuple[Array, Array]:
        """(frame, work frame) on this side from the host frame and its work-size version, or
        the work size (width, height) alone (the frame is then resized on this side)."""

    def download_frame(self, frame: Array) -> np.ndarray:
        """(H, W, 3) uint8 host copy of an output frame."""

    def from_host(self, a: np.ndarray) -> Array:
        """A host array on this side."""

    def to_host(self, a: Array) -> np.ndarray:
        """This side's array as a host numpy array (no copy on the host)."""

    def download_later(self, *arrays: Array) -> Callable[[], tuple[np.ndarray | None, ...]]:
        """Start copying ``arrays`` (None allowed) to the host without waiting; the returned
        function waits for the copies and returns them as numpy arrays. It may be called from
        another thread; the arrays must not be written to until it has returned."""

    def identity_map(self, height: int, width: int) -> Array:
        """(h, w, 2) float32 map of every pixel to itself."""

    def resize_image(self, image: Array, width: int, height: int) -> Array:
        """Area average when shrinking, bilinear when growing; dtype kept."""

    def resize_map(self, small: Array, width: int, height: int) -> Array:
        """A px map at another size, values scaled, pixel centres aligned."""

    def grid_sample(self, src: Array, at: Array, fallback: Array = None, valid: Array = None,
                    border: str = "replicate") -> Array:
        """:func:`streamedit_sdk.kernels.grid_sample` on this side."""

    def lk_refine(self, cur: Array, ref: Array, init: Array, iterations: int,
                  window: int = 5) -> Array:
        """:func:`streamedit_sdk.kernels.lk_refine` on this side: (h, w) float32 grey frames
        0..1, ``init`` (h, w, 2) float32 ref px."""

    def gaussian_blur(self, field: Array, sigma: float) -> Array:
        """(h, w, C) float32 blurred per channel (radius 3 sigma, borders reflected without
        repeating the edge pixel)."""

    def landmark_map(self, points_cur: np.ndarray, points_ref: np.ndarray,
                     triangles: np.ndarray, height: int, width: int, fallback: Array) -> Array:
        """Barycentric warp (host landmarks), ``fallback`` where no triangle covers a pixel."""

    def paste(self, dst: Array, src: Array, mask: Array) -> Array:
        """``src`` where ``mask``, else ``dst``; may write into ``dst``."""

    def subtract(self, edited: Array, rgb: Array) -> Array:
        """float32 ``edited - rgb`` of two uint8 images."""

    def add_delta(self, frame: Array, delta: Array) -> Array:
        """uint8 ``frame + delta``, rounded half up and clipped."""

    def gray(self, rgb: Array) -> Array:
        """(h, w, 3) uint8 -> (h, w) float32 luminance 0..1 (BT.601, as cv2's RGB2GRAY)."""

    def network_image(self, rgb: Array) -> Array:
        """(h, w, 3) uint8 -> (1, 3, h, w) float32 0..1, a network's image input."""

    def nchw(self, a: Array) -> Array:
        """(h, w) or (h, w, c) float32 -> contiguous (1, 1 or c, h, w), a network input."""

    def hwc(self, t: Array) -> Array:
        """A network output (1, c, h, w) -> (h, w, c); (h, w) when c is 1."""

    def exp(self, a: Array) -> Array:
        """Element-wise e^a."""

    def scale_displacement(self, delta: Array, width: int, height: int) -> Array:
        """A (h, w, 2) displacement field (px) at another size: resized bilinearly and its
        values scaled by the size ratio."""

    def infer(self, network: Backend, feeds: dict[str, Array],
              outputs: dict[str, tuple[int, ...]]) -> dict[str, Array]:
        """Run ``network`` on this side's arrays; ``outputs``: name -> shape of each output
        (a device side allocates them, the host side reads them from the runtime)."""

    def any(self, mask: Array) -> bool:
        """True where any element is set (a device sync)."""

    def fraction_above(self, sigma: Array, region: np.ndarray | None, threshold: float) -> Array:
        """Share of ``region`` (host bool mask; None: all) where sigma > threshold, as a
        scalar ``float()`` reads (on the device: read it after the frame's download, so the
        frame waits for the GPU once)."""

    def edit_weight(self, delta: Array, full: float) -> Array:
        """(H, W) float32 0..1: how much of each pixel an edit changes, ``max |delta|`` over
        the channels / ``full`` (intensity levels), at most 1."""

    def blend_edit(self, frame: Array, delta: Array, src: Array | None = None,
                   corr_map: Array | None = None, edit_map: Array | None = None,
                   valid: Array | None = None, full: float = 16.0) -> Array:
        """(H, W, C) uint8 edited frame (``kernels/common/blend.h``, paper §3.3): ``frame``
        (H, W, C) uint8 plus ``delta`` (H, W, C) float32 without ``src``; else ``src`` (Hs, Ws,
        C) uint8 sampled at ``corr_map`` (H, W, 2) float32 src px (the frame where ``valid``
        (H, W) uint8 is 0 or the map leaves src), moved towards ``src`` sampled at ``edit_map``
        by ``min(max_c |delta| / full, 1)``, plus ``delta``; rounded half up. The host's
        C++ kernel does it in one pass; a side may round its samples to uint8 first (results
        within one level)."""

    def raise_where_off(self, sigma: Array, corr_map: Array) -> Array:
        """``sigma`` (h, w) with 1 (the largest) where ``corr_map`` sends a pixel far off the
        reference (:func:`~streamedit_sdk.maps.off_reference`, set by the face lead)."""

    def as_uint8(self, mask: Array) -> Array:
        """A bool mask as uint8 0/1 (a view where the library allows)."""

    def crop(self, a: Array, y0: int, y1: int, x0: int, x1: int) -> Array:
        """``a[y0:y1, x0:x1]`` as a contiguous array (the kernels take no strided views)."""

    def box_where(self, mask: Array) -> tuple[int, int, int, int] | None:
        """(y0, y1, x0, x1) bounds (end exclusive) of the set pixels of an (H, W) bool mask,
        or None when none is set (on the device: a sync)."""

    def smooth_where(self, values: Array, mask: Array, sigma: float) -> Array:
        """(H, W, C) float32: ``values`` Gaussian-smoothed by ``sigma`` px over the pixels
        where ``mask`` ((H, W) bool) is set only (normalised convolution), at up to 1/8 of
        the size (the result has no detail finer than ``sigma``)."""

    def all_finite(self, *arrays: Array) -> Array:
        """Whether every element of ``arrays`` is finite, as a scalar ``bool()`` reads (on
        the device: read it after the frame's download)."""
