"""Landmark warp: geometry, overlap and degenerate rules, C++ against the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import face_mesh

from streamedit_sdk import kernels


@pytest.mark.parametrize("impl", ["cpp", "numpy"])
def test_identity_landmarks_give_identity_map(rng, impl):
    h, w = 96, 128
    pts, tris = face_mesh(w, h, rng)
    warp = kernels.barycentric_warp(pts, pts, tris, h, w, impl=impl)
    ys, xs = np.mgrid[0:h, 0:w]
    assert warp.mask.dtype == np.uint8 and warp.map.dtype == np.float32
    assert warp.mask.all(), "frame anchors make the triangles cover every pixel"
    assert np.abs(warp.map[..., 0] - xs).max() < 1e-3
    assert np.abs(warp.map[..., 1] - ys).max() < 1e-3


@pytest.mark.parametrize("impl", ["cpp", "numpy"])
def test_affine_landmarks_give_that_affine_map_inside_hull(rng, impl):
    h, w = 240, 320
    pts, tris = face_mesh(w, h, rng, anchors=False)
    a = np.array([[1.07, 0.12], [-0.09, 0.95]])
    b = np.array([13.5, -7.25])
    ref = (pts.astype(np.float64) @ a.T + b).astype(np.float32)
    warp = kernels.barycentric_warp(pts, ref, tris, h, w, impl=impl)
    inside = warp.mask == 1
    assert 0.2 < inside.mean() < 0.9, "the hull covers part of the frame only"
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    expect = np.dstack([xs, ys]) @ a.T + b
    err = np.abs(warp.map[inside] - expect[inside]).max()
    assert err < 1e-3, f"max error {err} px"
    assert np.isnan(warp.map[~inside]).all()


def test_pixel_inside_exactly_one_triangle_and_outside_is_nan():
    lm = np.array([[10, 10], [50, 10], [10, 50]], np.float32)
    warp = kernels.barycentric_warp(lm, lm + [100, 200], [[0, 1, 2]], 64, 64)
    assert warp.mask[20, 20] == 1 and np.allclose(warp.map[20, 20], [120, 220])
    assert warp.mask[45, 45] == 0 and np.isnan(warp.map[45, 45]).all()
    # right triangle with legs 40: pixels with x + y <= 60 inside, both >= 10
    assert warp.mask.sum() == sum(41 - k for k in range(41))


def test_overlapping_triangles_lowest_index_wins():
    lm = np.array([[0, 0], [63, 0], [0, 63], [63, 63]], np.float32)
    ref_a = lm + 1000.0
    tris = np.array([[0, 1, 2], [0, 1, 3]], np.int32)  # both cover the top-right half region
    # Different maps for the two triangles: shift the reference of landmark 3 only.
    ref = ref_a.copy()
    ref[3] += [500, 0]
    warp = kernels.barycentric_warp(lm, ref, tris, 64, 64)
    ref_np = kernels.barycentric_warp(lm, ref, tris, 64, 64, impl="numpy")
    # Pixel (x=10, y=5) is in both: triangle 0 (pure +1000 translation) must win.
    assert np.allclose(warp.map[5, 10], [1010, 1005])
    np.testing.assert_array_equal(warp.mask, ref_np.mask)
    np.testing.assert_array_equal(warp.map, ref_np.map)
    # Swapping the order changes the winner.
    swapped = kernels.barycentric_warp(lm, ref, tris[::-1].copy(), 64, 64)
    assert not np.allclose(swapped.map[5, 10], [1010, 1005])


def test_degenerate_and_non_finite_triangles_cover_nothing():
    lm = np.array([[5, 5], [30, 30], [55, 55], [5, 50], [np.nan, 3]], np.float32)
    tris = np.array([[0, 1, 2],  # collinear
                     [0, 0, 3],  # repeated vertex
                     [0, 3, 4]],  # non-finite vertex
                    np.int32)
    warp = kernels.barycentric_warp(lm, lm, tris, 64, 64)
    assert warp.mask.sum() == 0 and np.isnan(warp.map).all()


def test_landmarks_outside_the_frame_are_clipped(rng):
    lm = np.array([[-500, -400], [900, -300], [200, 1200]], np.float32)
    warp = kernels.barycentric_warp(lm, lm * 0.5, [[0, 1, 2]], 48, 40)
    ref = kernels.barycentric_warp(lm, lm * 0.5, [[0, 1, 2]], 48, 40, impl="numpy")
    assert warp.mask.all()
    np.testing.assert_allclose(warp.map, ref.map, atol=1e-3)


def test_cpp_matches_numpy_reference_on_a_face_mesh(rng):
    h, w = 200, 160
    pts, tris = face_mesh(w, h, rng, n=300)
    ref = pts + rng.normal(0, 3, pts.shape).astype(np.float32)
    a = kernels.barycentric_warp(pts, ref, tris, h, w)
    b = kernels.barycentric_warp(pts, ref, tris, h, w, impl="numpy")
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_allclose(a.map, b.map, atol=1e-4)


def test_thread_count_does_not_change_the_result(rng):
    h, w = 130, 170
    pts, tris = face_mesh(w, h, rng, n=200)
    ref = pts * 1.1 - 5
    one = kernels.barycentric_warp(pts, ref, tris, h, w, num_threads=1)
    two = kernels.barycentric_warp(pts, ref, tris, h, w, num_threads=2)
    np.testing.assert_array_equal(one.mask, two.mask)
    np.testing.assert_array_equal(one.map, two.map)


def test_host_inputs_of_other_dtypes_are_converted(rng):
    pts, tris = face_mesh(64, 64, rng)
    a = kernels.barycentric_warp(pts.astype(np.float64), pts.astype(np.float64),
                                 tris.astype(np.int64), 64, 64)
    b = kernels.barycentric_warp(pts, pts, tris, 64, 64)
    np.testing.assert_array_equal(a.map, b.map)


def test_empty_inputs():
    empty = np.zeros((0, 2), np.float32)
    warp = kernels.barycentric_warp(empty, empty, np.zeros((0, 3), np.int32), 8, 9)
    assert warp.map.shape == (8, 9, 2) and warp.mask.shape == (8, 9) and warp.mask.sum() == 0
    warp = kernels.barycentric_warp(empty, empty, np.zeros((0, 3), np.int32), 0, 0)
    assert warp.map.shape == (0, 0, 2)
