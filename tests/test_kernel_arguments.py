"""Bad arguments raise ValueError naming the argument and the expected shape."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from streamedit_sdk import kernels


def _map(h, w):
    return np.zeros((h, w, 2), np.float32)


@pytest.mark.parametrize("call, message", [
    (lambda: kernels.barycentric_warp(np.zeros((5, 3)), np.zeros((5, 2)), [[0, 1, 2]], 8, 8),
     r"lm_cur must have shape \(N, 2\)"),
    (lambda: kernels.barycentric_warp(np.zeros((5, 2)), np.zeros((4, 2)), [[0, 1, 2]], 8, 8),
     r"lm_cur and lm_ref must hold the same landmarks"),
    (lambda: kernels.barycentric_warp(np.zeros((5, 2)), np.zeros((5, 2)), [[0, 1]], 8, 8),
     r"triangles must have shape \(T, 3\)"),
    (lambda: kernels.barycentric_warp(np.zeros((5, 2)), np.zeros((5, 2)), [[0, 1, 5]], 8, 8),
     r"triangles\[0\] = \[0, 1, 5\] indexes outside the 5 landmarks"),
    (lambda: kernels.barycentric_warp(np.zeros((5, 2)), np.zeros((5, 2)),
                                      np.array([[0, 1, 2**32]], np.int64), 8, 8),
     r"triangles\[0\] = \[0, 1, 4294967296\] indexes outside the 5 landmarks"),
    (lambda: kernels.barycentric_warp(np.zeros((5, 2)), np.zeros((5, 2)), [[0, 1, 2.0]], 8, 8),
     r"triangles must be integer"),
    (lambda: kernels.barycentric_warp(np.zeros((5, 2)), np.zeros((5, 2)), [[0, 1, 2]], -1, 8),
     r"height must be in 0\.\."),
    (lambda: kernels.barycentric_warp(np.zeros((5, 2)), np.zeros((5, 2)), [[0, 1, 2]], 8, 2.5),
     r"width must be an integer"),
    (lambda: kernels.barycentric_warp(np.array([["a", "b"]]), np.zeros((1, 2)), [], 8, 8),
     r"lm_cur must hold real numbers"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 5), np.uint8), _map(4, 4)),
     r"src must have 1 to 4 channels, got 5"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.int16), _map(4, 4)),
     r"src must be uint8 or float32, got int16"),
    (lambda: kernels.grid_sample(np.zeros((4, 8, 3), np.uint8)[:, ::2], _map(4, 4)),
     r"src must be C-contiguous"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.float32)),
     r"map must have shape \(H, W, 2\), got \(4, 4, 3\)"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 2))),
     r"map must be float32, got float64"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), _map(4, 4),
                                 fallback=np.zeros((5, 4, 3), np.uint8)),
     r"fallback is 4x5 \(WxH\) but the map is 4x4"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), _map(4, 4),
                                 fallback=np.zeros((4, 4, 3), np.float32)),
     r"fallback must be uint8"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), _map(4, 4),
                                 valid=np.zeros((4, 4), np.float32)),
     r"valid must be uint8 or bool"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), _map(4, 4), border="wrap"),
     r"border must be one of \['replicate', 'zero'\]"),
    (lambda: kernels.grid_sample([[1, 2]], _map(4, 4)),
     r"src must be a numpy array or a CUDA array"),
    (lambda: kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), _map(4, 4),
                                 out=np.zeros((4, 4, 3), np.uint8)[::-1]),
     r"out must be C-contiguous"),
])
def test_bad_arguments_raise_value_error_with_a_useful_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("impl", ["cpp", "numpy"])
def test_out_may_not_alias_an_input(impl):
    src = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="out must not share memory with src"):
        kernels.grid_sample(src, _map(4, 4), out=src, impl=impl)


def test_unknown_impl_is_refused_before_anything_else():
    with pytest.raises(ValueError, match=r"impl must be one of 'auto', 'cpp', 'cuda', 'numpy'"):
        kernels.grid_sample(FakeDeviceArray((4, 4, 3), "|u1"), FakeDeviceArray((4, 4, 2), "<f4"),
                            impl="gpu")
    with pytest.raises(ValueError, match=r"impl must be one of"):
        kernels.barycentric_warp(np.zeros((3, 2)), np.zeros((3, 2)), [[0, 1, 2]], 4, 4,
                                 impl="c++")


def test_cuda_impl_with_host_images_is_refused():
    with pytest.raises(ValueError, match="impl='cuda' needs CUDA arrays"):
        kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), _map(4, 4), impl="cuda")


def test_read_only_out_is_refused():
    out = np.zeros((4, 4, 3), np.uint8)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        kernels.grid_sample(np.zeros((4, 4, 3), np.uint8), _map(4, 4), out=out)


class FakeDeviceArray:
    """Looks like a CUDA array (the interface only); never dereferenced by a correct caller."""

    def __init__(self, shape, typestr):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr,
                                         "data": (0xDEAD0000, False), "version": 3,
                                         "strides": None}


def test_mixing_host_and_device_arrays_is_refused():
    with pytest.raises(ValueError, match="src is a CUDA array but map is a host array"):
        kernels.grid_sample(FakeDeviceArray((4, 4, 3), "|u1"), _map(4, 4))


def test_device_arrays_without_a_gpu_raise_a_clear_error():
    if kernels.cuda_available():
        pytest.skip("a CUDA device is present: the error path is for machines without one")
    with pytest.raises(RuntimeError, match="src is a CUDA array but (no CUDA device|streamedit_sdk"
                                           " was built without CUDA)"):
        kernels.grid_sample(FakeDeviceArray((4, 4, 3), "|u1"),
                            FakeDeviceArray((4, 4, 2), "<f4"))


def test_device_array_on_a_host_impl_is_refused():
    with pytest.raises(ValueError, match="lm_cur is a CUDA array but impl='cpp' runs on the host"):
        kernels.barycentric_warp(FakeDeviceArray((3, 2), "<f4"), np.zeros((3, 2)),
                                 [[0, 1, 2]], 4, 4, impl="cpp")


def _unpickled(a: np.ndarray) -> np.ndarray:
    """``a`` as Ray and multiprocessing hand it over: pickled with out-of-band buffers, its
    dtype unpickled as a new object equal to numpy's own (not the same object)."""
    buffers = []
    out = pickle.loads(pickle.dumps(a, protocol=5, buffer_callback=buffers.append),
                       buffers=buffers)
    assert out.dtype == a.dtype and out.dtype is not a.dtype
    return out


def test_kernels_take_arrays_unpickled_from_shared_memory(rng):
    frame = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    delta = rng.normal(0, 20, (16, 20, 3)).astype(np.float32)
    at = (np.stack(np.meshgrid(np.arange(20), np.arange(16)), -1) + 0.5).astype(np.float32)
    np.testing.assert_array_equal(kernels.blend_edit(_unpickled(frame), _unpickled(delta)),
                                  kernels.blend_edit(frame, delta))
    for src in (frame, delta):
        np.testing.assert_array_equal(kernels.grid_sample(_unpickled(src), _unpickled(at)),
                                      kernels.grid_sample(src, at))
    with pytest.raises(ValueError, match="delta"):  # equal dtypes only: byte order counts
        kernels.blend_edit(frame, delta.astype(">f4"))
