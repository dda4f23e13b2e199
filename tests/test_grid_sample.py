"""Grid-sample: exactness, agreement with cv2.remap, fallback/valid/border rules."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import smooth_map

from streamedit_sdk import kernels


def identity_map(h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([xs, ys])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("border", ["replicate", "zero"])
def test_identity_map_returns_input_exactly(rng, dtype, channels, border):
    src = (rng.uniform(0, 255, (37, 53, channels))).astype(dtype)
    out = kernels.grid_sample(src, identity_map(37, 53), border=border)
    assert out.dtype == src.dtype and out.shape == src.shape
    np.testing.assert_array_equal(out, src)


def test_two_dimensional_source_keeps_two_dimensions(rng):
    src = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    out = kernels.grid_sample(src, identity_map(20, 30))
    assert out.shape == (20, 30)
    np.testing.assert_array_equal(out, src)


@pytest.mark.parametrize("size", [(64, 80), (181, 97)])
def test_smooth_maps_agree_with_cv2_remap(rng, size):
    h, w = size
    src = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)
    m = smooth_map(h, w, rng)
    m = np.clip(m, 0, [w - 1, h - 1]).astype(np.float32)  # inside: no border differences
    ours = kernels.grid_sample(src, m)
    cv = cv2.remap(src, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(ours.astype(int) - cv.astype(int)).max() <= 1


def test_cpp_matches_numpy_reference_bit_for_bit(rng):
    h, w = 70, 90
    for dtype in (np.uint8, np.float32):
        src = rng.uniform(0, 255, (h + 5, w - 7, 3)).astype(dtype)
        m = smooth_map(h, w, rng, amplitude=25.0)
        m[::7, ::5] = np.nan
        m[3, :] = -3.0  # far outside
        valid = (rng.uniform(size=(h, w)) > 0.1).astype(np.uint8)
        fb = rng.uniform(0, 255, (h, w, 3)).astype(dtype)
        for border in ("replicate", "zero"):
            for kw in ({}, {"fallback": fb}, {"valid": valid}, {"fallback": fb, "valid": valid}):
                a = kernels.grid_sample(src, m, border=border, **kw)
                b = kernels.grid_sample(src, m, border=border, impl="numpy", **kw)
                np.testing.assert_array_equal(a, b, err_msg=f"{dtype} {border} {list(kw)}")


def test_invalid_points_take_the_fallback(rng):
    src = np.full((10, 10, 3), 200, np.uint8)
    fb = np.full((4, 5, 3), 7, np.uint8)
    m = np.full((4, 5, 2), 4.0, np.float32)
    m[0, 0] = np.nan  # NaN
    m[0, 1] = [-0.6, 3]  # just outside the footprint
    m[0, 2] = [9.5, 9.5]  # on the footprint's far corner: still inside
    m[0, 3] = [np.inf, 2]
    valid = np.ones((4, 5), bool)
    valid[1, 1] = False
    out = kernels.grid_sample(src, m, fallback=fb, valid=valid)
    assert (out[0, 0] == 7).all() and (out[0, 1] == 7).all() and (out[0, 3] == 7).all()
    assert (out[1, 1] == 7).all()
    assert (out[0, 2] == 200).all() and (out[2, 2] == 200).all()
    no_fb = kernels.grid_sample(src, m, valid=valid)
    assert (no_fb[0, 0] == 0).all() and (no_fb[1, 1] == 0).all(), "unusable -> 0"
    assert (no_fb[0, 1] == 200).all(), "outside without fallback -> border rule (replicate)"


def test_border_modes_differ_only_at_the_edge():
    src = np.full((8, 8, 1), 100.0, np.float32)
    m = np.array([[[-0.5, 3.0], [3.0, 3.0]]], np.float32)
    rep = kernels.grid_sample(src, m, border="replicate")
    zero = kernels.grid_sample(src, m, border="zero")
    assert rep[0, 0, 0] == 100.0 and zero[0, 0, 0] == pytest.approx(50.0)
    assert rep[0, 1, 0] == zero[0, 1, 0] == 100.0


def test_uint8_rounds_half_up():
    src = np.array([[[0], [1]]], np.uint8)  # one row, two pixels
    m = np.array([[[0.5, 0.0], [0.25, 0.0], [0.75, 0.0]]], np.float32)
    out = kernels.grid_sample(src, m)
    assert out[0, :, 0].tolist() == [1, 0, 1]  # 0.5 -> 1, 0.25 -> 0, 0.75 -> 1


def test_out_argument_is_filled_and_returned(rng):
    src = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = np.zeros_like(src)
    res = kernels.grid_sample(src, identity_map(16, 16), out=out)
    assert res is out
    np.testing.assert_array_equal(out, src)


def test_map_of_another_size_than_source(rng):
    src = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    m = identity_map(20, 30) * 2  # downsample by 2
    out = kernels.grid_sample(src, m)
    np.testing.assert_array_equal(out, src[::2, ::2])


def test_empty_source_gives_fallback_or_zero():
    src = np.zeros((0, 0, 3), np.uint8)
    m = np.zeros((4, 4, 2), np.float32)
    assert (kernels.grid_sample(src, m) == 0).all()
    fb = np.full((4, 4, 3), 9, np.uint8)
    assert (kernels.grid_sample(src, m, fallback=fb) == 9).all()
