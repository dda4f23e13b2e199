"""The editor's array operations on torch tensors: the CUDA kernels on the GPU, one stream.

Frames come in as host numpy arrays and are uploaded once through a pinned staging buffer
(asynchronous copy); everything after that (landmark warp, the networks, grid-samples,
resizes) is queued on torch's current CUDA stream, and only the output frame is copied back,
through a second pinned buffer. On ``device="cpu"`` the same code runs on CPU tensors with the
C++ kernels: the device path's reference, and how CI tests it.
"""

from __future__ import annotations

from typing import Any, Callable, TypeAlias

import numpy as np

from streamedit_sdk import kernels
from streamedit_sdk.backends.base import Backend
from streamedit_sdk.errors import BackendUnavailableError
from streamedit_sdk.maps import off_reference
from streamedit_sdk.sides.base import shrink_for

Tensor: TypeAlias = Any  # a torch.Tensor (torch is imported only when this side is made)


class TorchOps:
    """:class:`~streamedit_sdk.sides.base.ArrayOps` on torch tensors on ``device``."""

    resizes_uploads = True

    def __init__(self, device: str = "cuda", num_threads: int = 0) -> None:
        import torch
        from torch.nn import functional

        self.torch = torch
        self._f = functional
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        if self.cuda and not torch.cuda.is_available():
            raise BackendUnavailableError(
                "the GPU backends need a CUDA build of torch and a visible GPU "
                "(torch.cuda.is_available() is False): use ort-cpu")
        if self.cuda and not kernels.cuda_available():
            raise BackendUnavailableError(
                "streamedit_sdk was built without its CUDA kernels (or sees no GPU): reinstall "
                "with nvcc on PATH, or use ort-cpu")
        self.name = self.device.type
        self._num_threads = num_threads  # C++ kernel threads on the CPU (0: all cores)
        # (shape, dtype, way) -> pinned buffer, CUDA event
        self._staging: dict[tuple, tuple[Tensor, Any]] = {}
        self._grids: dict[tuple[int, int], Tensor] = {}
        # (the host triangles it was made from, their device copy, reference points)
        self._mesh: tuple[np.ndarray, Tensor, Tensor] | None = None
        self._region: tuple[np.ndarray, Tensor] | None = None  # (host mask, its device copy)

    # -- transfers --------------------------------------------------------------------------
    def upload_frame(self, rgb: np.ndarray,
                     work: np.ndarray | tuple[int, int]) -> tuple[Tensor, Tensor]:
        frame = self._upload(rgb)
        width, height = work if isinstance(work, tuple) else (work.shape[1], work.shape[0])
        return frame, self.resize_image(frame, width, height)

    def _upload(self, a: np.ndarray) -> Tensor:
        t = self.torch
        a = np.ascontiguousarray(a)
        if not self.cuda:
            return t.from_numpy(a.copy())
        pinned, done = self._pinned(a.shape, a.dtype, "up")
        done.synchronize()  # the previous frame's copy out of this buffer has finished
        pinned.numpy()[...] = a
        out = t.empty(a.shape, dtype=pinned.dtype, device=self.device)
        out.copy_(pinned, non_blocking=True)
        done.record()
        return out

    def download_frame(self, frame: Tensor) -> np.ndarray:
        if not self.cuda:
            return frame.numpy()
        pinned, done = self._pinned(tuple(frame.shape), np.uint8, "down")
        pinned.copy_(frame, non_blocking=True)
        done.record()
        done.synchronize()
        return pinned.numpy().copy()

    def _pinned(self, shape: tuple, dtype: np.dtype, way: str) -> tuple[Tensor, Tensor]:
        key = (tuple(shape), np.dtype(dtype).str, way)
        if key not in self._staging:
            t = self.torch
            buf = t.empty(key[0], dtype=t.from_numpy(np.empty(0, dtype)).dtype, pin_memory=True)
            self._staging[key] = (buf, t.cuda.Event())
        return self._staging[key]

    def from_host(self, a: np.ndarray) -> Tensor:
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def to_host(self, a: Tensor) -> np.ndarray:
        return a.cpu().numpy()

    def download_later(self, *arrays: Tensor) -> Callable[[], tuple[np.ndarray | None, ...]]:
        if not self.cuda:
            return lambda: tuple(None if a is None else a.numpy() for a in arrays)
        t = self.torch
        # torch's pinned-memory allocator caches blocks, so a replacement does not pin anew
        pinned = [None if a is None else t.empty(a.shape, dtype=a.dtype, pin_memory=True)
                  for a in arrays]
        for host, a in zip(pinned, arrays):
            if a is not None:
                host.copy_(a, non_blocking=True)
        done = t.cuda.Event()
        done.record()

        def fetch() -> tuple[np.ndarray | None, ...]:
            done.synchronize()
            return tuple(None if p is None else p.numpy() for p in pinned)
        return fetch

    # -- geometry ---------------------------------------------------------------------------
    def identity_map(self, height: int, width: int) -> Tensor:
        key = (height, width)
        if key not in self._grids:  # cached: callers never write into it
            t = self.torch
            ys, xs = t.meshgrid(t.arange(height, dtype=t.float32, device=self.device),
                                t.arange(width, dtype=t.float32, device=self.device),
                                indexing="ij")
            self._grids[key] = t.stack([xs, ys], -1).contiguous()
        return self._grids[key]

    def resize_image(self, image: Tensor, width: int, height: int) -> Tensor:
        h, w = image.shape[:2]
        if (h, w) == (height, width):
            return image
        x = image.float()
        x = (x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None])
        shrink = width < w and height < h
        x = self._f.interpolate(x, size=(height, width), mode="area" if shrink else "bilinear",
                                **({} if shrink else {"align_corners": False}))
        x = x[0, 0] if image.ndim == 2 else x[0].permute(1, 2, 0)
        if image.dtype == self.torch.uint8:
            x = (x + 0.5).clamp_(0, 255).to(self.torch.uint8)
        elif image.dtype == self.torch.bool:
            x = x >= 0.5
        return x.contiguous()

    def resize_map(self, small: Tensor, width: int, height: int) -> Tensor:
        h, w = small.shape[:2]
        if (h, w) == (height, width):
            return small
        sx, sy = width / w, height / h
        # scalars only: a tensor of constants would be a host-to-device copy, which a CUDA
        # graph cannot record
        x = self.torch.stack([small[..., 0] * sx + (0.5 * sx - 0.5),
                           small[..., 1] * sy + (0.5 * sy - 0.5)])[None]
        x = self._f.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        return x[0].permute(1, 2, 0).contiguous()

    def scale_displacement(self, delta: Tensor, width: int, height: int) -> Tensor:
        """A (h, w, 2) displacement field (px) at another size: resized and scaled."""
        h, w = delta.shape[:2]
        out = self.resize_image(delta, width, height)
        return self.torch.stack([out[..., 0] * (width / w), out[..., 1] * (height / h)], -1)

    # -- kernels ----------------------------------------------------------------------------
    def _kernel(self, fn, *arrays: Tensor, **kwargs: Tensor) -> Tensor:
        """Call a :mod:`streamedit_sdk.kernels` entry point on tensors of this side: CUDA
        tensors as they are, on torch's current stream (the CUDA kernels); CPU tensors as
        numpy views (the C++ kernels), the result back as a tensor. None passes through."""
        if self.cuda:
            return fn(*(None if a is None else a.contiguous() for a in arrays),
                      stream=self.torch.cuda.current_stream(self.device).cuda_stream, **kwargs)
        out = fn(*(None if a is None else a.contiguous().numpy() for a in arrays),
                 num_threads=self._num_threads, **kwargs)
        if isinstance(out, tuple):  # kernels.LandmarkWarp
            return type(out)(*(self.torch.from_numpy(o) for o in out))
        return self.torch.from_numpy(out)

    def grid_sample(self, src, at, fallback=None, valid=None, border="replicate"):
        return self._kernel(kernels.grid_sample, src, at, fallback, valid, border=border)

    def lk_refine(self, cur, ref, init, iterations: int, window: int = 5) -> Tensor:
        return self._kernel(kernels.lk_refine, cur, ref, init, iterations=iterations,
                            window=window)

    def gaussian_blur(self, field: Tensor, sigma: float) -> Tensor:
        """(h, w, C) float32 blurred per channel (separable, radius 3 sigma, borders
        reflected without repeating the edge pixel, as OpenCV's default)."""
        if sigma <= 0:
            return field
        t, f = self.torch, self._f
        r = max(1, int(round(3 * sigma)))
        x = t.arange(-r, r + 1, dtype=t.float32, device=field.device)
        k = t.exp(-0.5 * (x / sigma) ** 2)
        k = k / k.sum()
        c = field.shape[2]
        h, w = field.shape[:2]
        y = field.permute(2, 0, 1)[None]
        y = f.pad(y, (r, r, r, r), mode="reflect" if min(h, w) > r else "replicate")
        y = f.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        y = f.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        return y[0].permute(1, 2, 0).contiguous()

    def landmark_map(self, points_cur, points_ref, triangles, height, width, fallback):
        if self._mesh is None or self._mesh[0] is not triangles:  # one upload per reference
            self._mesh = (triangles, self.from_host(triangles), self.from_host(points_ref))
        _, tris, ref = self._mesh
        cur = self.torch.from_numpy(np.ascontiguousarray(points_cur, np.float32)).to(
            self.device, non_blocking=True)
        warp = self._kernel(kernels.barycentric_warp, cur, ref, tris, height=height, width=width)
        return self.torch.where((warp.mask == 0)[..., None], fallback, warp.map)

    # -- networks ---------------------------------------------------------------------------
    def gray(self, rgb: Tensor) -> Tensor:
        x = rgb.float()
        return (x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114) * (1 / 255)

    def network_image(self, rgb: Tensor) -> Tensor:
        return (rgb.permute(2, 0, 1)[None].float() * (1 / 255)).contiguous()

    def nchw(self, a: Tensor) -> Tensor:
        return (a[None, None] if a.ndim == 2 else a.permute(2, 0, 1)[None]).contiguous()

    def hwc(self, t: Tensor) -> Tensor:
        return t[0, 0] if t.shape[1] == 1 else t[0].permute(1, 2, 0)

    def exp(self, a: Tensor) -> Tensor:
        return a.exp()

    def infer(self, network: Backend, feeds: dict[str, Tensor],
              outputs: dict[str, tuple[int, ...]]) -> dict[str, Tensor]:
        t = self.torch
        out = {name: t.empty(shape, dtype=t.float32, device=self.device)
               for name, shape in outputs.items()}
        network.infer_device(feeds, out)
        return out

    # -- element-wise -----------------------------------------------------------------------
    def edit_weight(self, delta, full):
        return (delta.abs().amax(-1) * (1.0 / full)).clamp_(max=1.0)

    def blend_edit(self, frame, delta, src=None, corr_map=None, edit_map=None, valid=None,
                   full=16.0):
        if src is None:
            return self.add_delta(frame, delta)
        base = self.grid_sample(src, corr_map, fallback=frame, valid=valid).float()
        if edit_map is not None:
            led = self.grid_sample(src, edit_map, fallback=frame, valid=valid).float()
            base = base + self.edit_weight(delta, full)[..., None] * (led - base)
        return self.add_delta(base, delta)

    def raise_where_off(self, sigma, corr_map):
        return self.torch.where(off_reference(corr_map), 1.0, sigma)

    def paste(self, dst, src, mask):
        return self.torch.where(mask[..., None] if dst.ndim == 3 else mask, src, dst)

    def subtract(self, edited, rgb):
        return edited.float() - rgb.float()

    def add_delta(self, frame, delta):
        return (delta + frame + 0.5).clamp_(0, 255).to(self.torch.uint8)

    def any(self, mask) -> bool:
        return bool(mask.any())

    def fraction_above(self, sigma, region, threshold) -> Tensor:
        bad = sigma > threshold
        if region is None:
            return bad.float().mean()
        if self._region is None or self._region[0] is not region:  # reused for some frames
            self._region = (region, self.from_host(region))
        r = self._region[1]
        n = r.sum()
        return self.torch.where(n > 0, (bad & r).sum() / n.clamp(min=1), bad.float().mean())

    def as_uint8(self, mask):
        return mask.view(self.torch.uint8)

    def crop(self, a, y0, y1, x0, x1):
        return a[y0:y1, x0:x1].contiguous()

    def box_where(self, mask):
        rows, cols = mask.any(dim=1), mask.any(dim=0)
        if not bool(rows.any()):
            return None
        ys, xs = self.torch.nonzero(rows)[:, 0], self.torch.nonzero(cols)[:, 0]
        return int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1

    def smooth_where(self, values, mask, sigma):
        h, w = mask.shape
        k = shrink_for(sigma)
        sw, sh = max(1, w // k), max(1, h // k)
        weight = mask.float()[..., None]
        both = self.resize_image(self.torch.cat([values * weight, weight], dim=2), sw, sh)
        both = self.gaussian_blur(both, max(sigma / k, 0.5))
        out = both[..., :-1] / both[..., -1:].clamp(min=1e-3)
        return self.resize_image(out, w, h)

    def all_finite(self, *arrays) -> Tensor:
        t = self.torch
        return t.stack([t.isfinite(a.sum(dtype=t.float64)) for a in arrays]).all()
