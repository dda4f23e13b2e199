"""Property tests (hypothesis): random and degenerate inputs never crash and match the spec."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from streamedit_sdk import kernels

COORD = st.one_of(
    st.floats(-40, 80, width=32),  # around a small frame, often outside it
    st.sampled_from([0.0, 0.5, 31.0, 31.5, -0.5, 1e7, -1e7, 2.0**20]),
    st.just(float("nan")), st.just(float("inf")))
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def meshes(draw):
    n = draw(st.integers(0, 12))
    cur = draw(hnp.arrays(np.float32, (n, 2), elements=COORD))
    ref = draw(hnp.arrays(np.float32, (n, 2), elements=COORD))
    if n and draw(st.booleans()):  # collinear and repeated points: degenerate triangles
        cur[: n // 2] = cur[0] + np.arange(n // 2, dtype=np.float32)[:, None]
    t = draw(st.integers(0, 16)) if n else 0
    tris = draw(hnp.arrays(np.int32, (t, 3), elements=st.integers(0, max(n - 1, 0))))
    h, w = draw(st.integers(0, 33)), draw(st.integers(0, 33))
    return cur, ref, tris, h, w


@SETTINGS
@given(meshes())
def test_warp_on_random_meshes_matches_the_reference(mesh):
    cur, ref, tris, h, w = mesh
    a = kernels.barycentric_warp(cur, ref, tris, h, w)
    b = kernels.barycentric_warp(cur, ref, tris, h, w, impl="numpy")
    assert a.map.shape == (h, w, 2) and a.mask.shape == (h, w)
    assert set(np.unique(a.mask)) <= {0, 1}
    covered = a.mask == 1
    assert np.isnan(a.map[~covered]).all()
    assert np.isfinite(a.map[covered]).all()
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.map, b.map)


MAP_VALUES = st.one_of(st.floats(-3, 25, width=32),
                       st.sampled_from([-0.5, -0.50001, 19.5, 15.5, 1e30, -1e30]),
                       st.just(float("nan")), st.just(float("-inf")))


@st.composite
def sample_cases(draw):
    dtype = draw(st.sampled_from([np.uint8, np.float32]))
    c = draw(st.integers(1, 4))
    hs, ws = draw(st.integers(0, 16)), draw(st.integers(0, 20))
    h, w = draw(st.integers(0, 12)), draw(st.integers(0, 12))
    src = draw(hnp.arrays(dtype, (hs, ws, c), elements=st.integers(0, 255)))
    m = draw(hnp.arrays(np.float32, (h, w, 2), elements=MAP_VALUES))
    fb = draw(st.one_of(st.none(), hnp.arrays(dtype, (h, w, c), elements=st.integers(0, 255))))
    valid = draw(st.one_of(st.none(), hnp.arrays(np.uint8, (h, w), elements=st.integers(0, 3))))
    border = draw(st.sampled_from(["replicate", "zero"]))
    return src, m, fb, valid, border


@SETTINGS
@given(sample_cases())
def test_grid_sample_on_random_maps_matches_the_reference(case):
    src, m, fb, valid, border = case
    a = kernels.grid_sample(src, m, fallback=fb, valid=valid, border=border)
    b = kernels.grid_sample(src, m, fallback=fb, valid=valid, border=border, impl="numpy")
    assert a.shape == m.shape[:2] + src.shape[2:] and a.dtype == src.dtype
    np.testing.assert_array_equal(a, b)
    if a.size:  # outputs are convex combinations of source, fallback or zero
        pools = [np.zeros(1, src.dtype), src.ravel()] + ([fb.ravel()] if fb is not None else [])
        values = np.concatenate(pools)
        # (in float32 the four weights can sum to 1 + 1 ulp: 9.0 blends to 9.000001)
        slack = 4 * np.finfo(np.float32).eps * float(np.abs(values).max()) \
            if src.dtype == np.float32 else 0
        assert values.min() - slack <= a.min() and a.max() <= values.max() + slack
