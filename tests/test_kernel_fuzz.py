"""Fuzzing the kernels' Python entry points: random shapes, dtypes and strides give a result or
a ValueError, never a crash (a segfault would take the test process down)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamedit_sdk import kernels

DTYPES = [np.uint8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]


@st.composite
def arrays(draw, max_dims: int = 4):
    """Any small array: 0-4 dims of 0-7, any of DTYPES, contiguous or strided/transposed."""
    ndim = draw(st.integers(0, max_dims))
    shape = tuple(draw(st.lists(st.integers(0, 7), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(DTYPES))
    a = np.asarray(draw(st.integers(0, 2**31 - 1)) % 97, dtype) * np.ones(shape, dtype)
    layout = draw(st.sampled_from(["c", "strided", "transposed", "fortran"]))
    if layout == "strided" and ndim:
        a = np.repeat(a, 2, axis=0)[::2]
    elif layout == "transposed" and ndim > 1:
        a = a.T
    elif layout == "fortran":
        a = np.asfortranarray(a)
    return a


FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _call(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ValueError:
        pass  # refused with a message: what is asked of bad arguments


@FUZZ
@given(arrays(), arrays(), st.sampled_from([None, "arr"]), st.sampled_from([None, "arr"]),
       st.sampled_from(["replicate", "zero"]))
def test_grid_sample_never_crashes(src, map_, fallback, valid, border):
    fb = src if fallback else None
    va = map_[..., 0] if (valid and map_.ndim and map_.shape[-1]) else None
    _call(kernels.grid_sample, src, map_, fb, va, border)


@FUZZ
@given(arrays(2), arrays(2), arrays(2), st.integers(-3, 40), st.integers(-3, 40))
def test_barycentric_warp_never_crashes(cur, ref, tris, h, w):
    _call(kernels.barycentric_warp, cur, ref, tris, h, w)


@FUZZ
@given(arrays(), arrays(), arrays(), st.integers(-1, 3), st.integers(-1, 7))
def test_lk_refine_never_crashes(cur, ref, map_, iterations, window):
    _call(kernels.lk_refine, cur, ref, map_, iterations=iterations, window=window)


@FUZZ
@given(arrays(), arrays(), arrays(), arrays(), st.sampled_from([None, "arr"]))
def test_blend_edit_never_crashes(frame, delta, src, map_, valid):
    va = map_[..., 0] if (valid and map_.ndim and map_.shape[-1]) else None
    _call(kernels.blend_edit, frame, delta, src, map_, map_, va)
    _call(kernels.blend_edit, frame, delta)
