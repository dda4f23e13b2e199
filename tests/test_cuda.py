"""CUDA kernels against the C++ kernels, on the device. Skipped without a GPU."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import face_mesh, smooth_map

from streamedit_sdk import kernels

pytestmark = pytest.mark.cuda


def _device_library():
    """torch or CuPy, whichever is installed with CUDA; else skip with the reason."""
    if not kernels.cuda_available():
        pytest.skip("no CUDA device (or kernels built without CUDA): CUDA parity runs on a GPU")
    try:
        import cupy

        return "cupy", cupy.asarray, cupy.asnumpy
    except ImportError:
        pass
    try:
        import torch

        return "torch", lambda a: torch.from_numpy(np.ascontiguousarray(a)).cuda(), \
            lambda t: t.cpu().numpy()
    except ImportError:
        pytest.skip("CUDA device present but neither CuPy nor torch is installed")


def test_barycentric_warp_cuda_matches_cpp(rng):
    _, to_dev, to_host = _device_library()
    for (w, h) in ((512, 512), (1280, 720), (333, 211)):
        pts, tris = face_mesh(w, h, rng, n=478)
        ref = pts + rng.normal(0, 4, pts.shape).astype(np.float32)
        cpu = kernels.barycentric_warp(pts, ref, tris, h, w)
        dev = kernels.barycentric_warp(to_dev(pts), to_dev(ref), to_dev(tris), h, w)
        dev_map, dev_mask = to_host(dev.map), to_host(dev.mask)
        np.testing.assert_array_equal(dev_mask, cpu.mask)
        np.testing.assert_allclose(dev_map, cpu.map, atol=1e-3, equal_nan=True)


def test_barycentric_warp_cuda_accepts_host_landmarks(rng):
    _, to_dev, to_host = _device_library()
    pts, tris = face_mesh(128, 96, rng)
    cpu = kernels.barycentric_warp(pts, pts * 1.01, tris, 96, 128)
    dev = kernels.barycentric_warp(pts, pts * 1.01, tris, 96, 128, impl="cuda")
    # No caller array library to follow: the outputs are the extension's DeviceBuffers.
    np.testing.assert_allclose(dev.map.to_host(), cpu.map, atol=1e-3, equal_nan=True)
    np.testing.assert_array_equal(dev.mask.to_host(), cpu.mask)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_grid_sample_cuda_matches_cpp(rng, dtype, channels):
    _, to_dev, to_host = _device_library()
    h, w = 257, 311
    src = rng.uniform(0, 255, (h, w, channels)).astype(dtype)
    m = smooth_map(h, w, rng, amplitude=30.0)
    m[::9, ::4] = np.nan
    fb = rng.uniform(0, 255, (h, w, channels)).astype(dtype)
    valid = (rng.uniform(size=(h, w)) > 0.05).astype(np.uint8)
    for border in ("replicate", "zero"):
        cpu = kernels.grid_sample(src, m, fallback=fb, valid=valid, border=border)
        dev = kernels.grid_sample(to_dev(src), to_dev(m), fallback=to_dev(fb),
                                  valid=to_dev(valid), border=border)
        diff = np.abs(to_host(dev).astype(np.float64) - cpu.astype(np.float64)).max()
        assert diff <= (1 if dtype == np.uint8 else 1e-3)


@pytest.mark.parametrize("size", [(96, 128), (288, 512), (37, 61)])
def test_lk_refine_cuda_matches_cpp(rng, size):
    _, to_dev, to_host = _device_library()
    h, w = size
    ref = cv2_blur(rng.uniform(0, 1, (h, w)).astype(np.float32))
    m = smooth_map(h, w, rng, amplitude=2.0)
    cur = kernels.grid_sample(ref, smooth_map(h, w, rng, amplitude=2.0))
    cpu = kernels.lk_refine(cur, ref, m, iterations=3)
    dev = kernels.lk_refine(to_dev(cur), to_dev(ref), to_dev(m), iterations=3)
    assert np.abs(to_host(dev) - cpu).max() <= 1e-3
    assert np.abs(cpu - m).max() > 0.01  # the steps did move the map


def cv2_blur(a: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(a, (0, 0), 2.0)


def test_device_pipeline_on_the_gpu_matches_cpu_tensors():
    """torch-cuda (CUDA kernels, networks on the GPU) against torch-cpu (C++ kernels) on the
    synthetic clip: the same code, so the outputs agree up to float rounding (TF32 matmuls)."""
    if not kernels.cuda_available():
        pytest.skip("no CUDA device (or kernels built without CUDA): runs on a GPU")
    torch = pytest.importorskip("torch", reason="the device pipeline runs on torch tensors")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    import streamedit_sdk as se
    from streamedit_sdk import edits
    from streamedit_sdk.apps import synthetic

    frames, _ = synthetic.clip(12)
    edited = edits.apply_style("teal-orange", frames[0])
    outs = {}
    for backend, graphs in (("torch-cuda", True), ("torch-cuda", False), ("torch-cpu", False)):
        config = se.EditorConfig(backend=backend, cuda_graphs=graphs,
                                 replacement=se.ReplacementConfig(interval=5))
        with se.StreamEditor(config) as ed:
            ed.set_reference(frames[0], edited)
            outs[backend, graphs] = [(r.frame, r.map.cpu().numpy()) for r in ed.stream(frames)]
            assert ed.stats.reference_ids == [0, 5, 10]
            if graphs:  # the correspondence was replayed from CUDA graphs, none failed
                assert ed._model._graphed is not None and not ed._model._graphed.failed
    for (fa, ma), (fb, mb), (fc, mc) in zip(outs["torch-cuda", True], outs["torch-cuda", False],
                                            outs["torch-cpu", False]):
        assert np.abs(fa.astype(int) - fb).mean() < 0.1 and np.abs(ma - mb).max() < 0.05
        assert np.abs(fa.astype(int) - fc).mean() < 1.0
        assert np.median(np.abs(ma - mc)) < 0.05
