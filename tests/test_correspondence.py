"""Lucas-Kanade refinement: the kernel (C++ against its numpy reference) and its use in the
weight-free correspondence."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamedit_sdk.correspondence.flow import FlowCorrespondence
from streamedit_sdk.kernels import lk_refine
from streamedit_sdk.maps import identity_map


def _texture(rng, h=128, w=128) -> np.ndarray:
    noise = rng.random((h // 4, w // 4)).astype(np.float32)
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)


def test_lk_recovers_a_subpixel_shift(rng):
    ref = _texture(rng)
    true = identity_map(128, 128) + np.float32([0.6, -0.4])
    cur = cv2.remap(ref, true, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    start = identity_map(128, 128)
    out = lk_refine(cur, ref, start, iterations=3)
    inner = (slice(8, -8), slice(8, -8))
    before = np.linalg.norm(start - true, axis=-1)[inner].mean()
    after = np.linalg.norm(out - true, axis=-1)[inner].mean()
    assert before > 0.7 and after < 0.15
    assert out is not start and np.array_equal(start, identity_map(128, 128))


def test_lk_leaves_flat_regions_alone_and_clips_steps():
    flat = np.full((64, 64), 0.5, np.float32)
    start = identity_map(64, 64) + 3.0
    out = lk_refine(flat, flat, start, iterations=2)
    assert np.abs(out - start).max() < 1e-4
    edge = np.zeros((64, 64), np.float32)
    edge[:, 32:] = 1.0
    out = lk_refine(edge, 1.0 - edge, identity_map(64, 64), iterations=1, max_step=0.5)
    assert np.abs(out - identity_map(64, 64)).max() <= 0.5 + 1e-6


def test_flow_correspondence_refines_with_lk(rng):
    ref = (_texture(rng, 96, 96)[..., None].repeat(3, -1) * 255).astype(np.uint8)
    true = identity_map(96, 96) + np.float32([1.3, 0.8])
    cur = cv2.remap(ref, true, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    errors = {}
    for lk in (0, 3):
        model = FlowCorrespondence("ultrafast", lk_iterations=lk)
        corr = model.predict(cur, model.encode_reference(ref), identity_map(96, 96))
        errors[lk] = np.linalg.norm(corr.map - true, axis=-1)[10:-10, 10:-10].mean()
    assert errors[3] < errors[0] and errors[3] < 0.2


@pytest.mark.parametrize("shape", [(37, 53), (5, 3), (64, 64)])
@pytest.mark.parametrize("window", [1, 3, 5, 7, 9])
def test_cpp_matches_the_reference(rng, shape, window):
    h, w = shape
    ref = rng.random(shape).astype(np.float32)
    cur = rng.random(shape).astype(np.float32)
    start = identity_map(h, w) + rng.normal(0, 1.5, (h, w, 2)).astype(np.float32)
    a = lk_refine(cur, ref, start, iterations=2, window=window, impl="cpp", num_threads=2)
    b = lk_refine(cur, ref, start, iterations=2, window=window, impl="numpy")
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_arguments_are_checked(rng):
    img = np.zeros((8, 8), np.float32)
    grid = identity_map(8, 8)
    with pytest.raises(ValueError, match="window must be an odd"):
        lk_refine(img, img, grid, window=4)
    with pytest.raises(ValueError, match="cur must be float32"):
        lk_refine(img.astype(np.float64), img, grid)
    with pytest.raises(ValueError, match="ref is 9x8"):
        lk_refine(img, np.zeros((8, 9), np.float32), grid)
    with pytest.raises(ValueError, match="map must have shape"):
        lk_refine(img, img, grid[..., :1].copy())
    with pytest.raises(ValueError, match="damping"):
        lk_refine(img, img, grid, damping=float("nan"))
    assert np.array_equal(lk_refine(img, img, grid, iterations=0), grid)
