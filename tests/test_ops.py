"""The editor's model operations (ops.py) against direct formulations of what they compute."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamedit_sdk.core import ops
from streamedit_sdk.correspondence.flow import FlowReference
from streamedit_sdk.frames import paste, resize_to
from streamedit_sdk.kernels import reference as ref_kernels
from streamedit_sdk.maps import identity_map, resize_map


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (300, 200), (512, 288)])
def test_resize_map_keeps_pixel_centres(size):
    """An identity map at work size is the identity at any size; a shift scales with it.
    (Within half a work pixel of the border the resize clamps instead of extrapolating.)"""
    w, h = size
    small = identity_map(288, 512)
    full = resize_map(small, w, h)
    assert full.shape == (h, w, 2)
    b = int(np.ceil(max(w / 512, h / 288)))
    inner = (slice(b, h - b), slice(b, w - b))
    assert np.abs(full - identity_map(h, w))[inner].max() < 1e-3 * max(w, h) / 288
    shifted = resize_map(small + np.float32(3.0), w, h)
    assert np.allclose((shifted - full)[inner], [3.0 * w / 512, 3.0 * h / 288], atol=1e-3)


def test_resize_to_by_halvings_is_a_box_filter():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8), (0, 0), 2)
    ours = resize_to(image, 512, 288).astype(int)
    direct = cv2.resize(image, (512, 288), interpolation=cv2.INTER_AREA).astype(int)
    assert ours.shape == direct.shape
    assert np.abs(ours - direct).mean() < 1.0 and np.abs(ours - direct).max() <= 8
    assert resize_to(image, 960, 540).tolist() == cv2.resize(
        image, (960, 540), interpolation=cv2.INTER_AREA).tolist()  # one exact halving


def test_propagate_takes_unknown_pixels_from_the_current_reference():
    """Replace mode with a partly-known trace: known pixels come from the user's edit at the
    map into the origin, the others from the current reference's edit, out-of-image points from
    the live frame (written out with the reference grid-sample, pixel by pixel rules)."""
    rng = np.random.default_rng(3)
    h, w = 24, 32
    origin_edit = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ref_edit = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    features = FlowReference(np.zeros((h, w), np.uint8))
    origin = ops.Origin(0, np.zeros((h, w, 3), np.float32), features, origin_edit)
    reference = ops.Reference(5, frame, ref_edit, np.zeros((h, w, 3), np.float32), origin,
                              None, None, None, features)
    corr = identity_map(h, w) + rng.uniform(-3, 3, (h, w, 2)).astype(np.float32)
    to_origin = identity_map(h, w) + rng.uniform(-4, 4, (h, w, 2)).astype(np.float32)
    known = rng.random((h, w)) > 0.3
    carried = ops.CarriedEdit(to_origin, known, None, to_origin)

    out = ops.propagate(reference, carried, corr, frame, "replace")

    from_origin = ref_kernels.grid_sample(origin_edit, to_origin, fallback=frame)
    from_ref = ref_kernels.grid_sample(ref_edit, corr, fallback=frame)
    expected = np.where(known[..., None], from_origin, from_ref)
    assert np.array_equal(out, expected)
    assert ops.propagate(reference, ops.CarriedEdit(to_origin, None, None, to_origin), corr, frame,
                         "replace").tolist() == from_origin.tolist()


@pytest.mark.parametrize("shape, dtype", [((40, 30, 3), np.uint8), ((40, 30, 2), np.float32),
                                          ((40, 30), np.uint8), ((40, 30, 3), np.int16),
                                          ((40, 30, 6), np.float32)])
def test_paste_is_a_masked_assignment(shape, dtype):
    rng = np.random.default_rng(1)
    dst = (rng.random(shape) * 100).astype(dtype)
    src = (rng.random(shape) * 100).astype(dtype)
    mask = rng.random(shape[:2]) > 0.4
    expected = dst.copy()
    expected[mask] = src[mask]
    out = paste(dst, src[::1], mask)
    assert out is dst and np.array_equal(dst, expected)
    with pytest.raises(ValueError, match="differ"):
        paste(dst, src[:-1], mask)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_opencv_inpainter_fills_only_the_mask_from_its_surroundings(dtype):
    from streamedit_sdk.core.inpaint import OpenCVInpainter

    h, w = 600, 800  # larger than max_side: the fill is computed downscaled
    image = np.zeros((h, w, 3), dtype)
    image[:, : w // 2] = 40
    image[:, w // 2:] = 200
    mask = np.zeros((h, w), bool)
    mask[250:350, 100:200] = True  # inside the left half
    mask[250:350, 600:700] = True  # inside the right half
    out = OpenCVInpainter().inpaint(image, mask)
    assert out.dtype == image.dtype and out.shape == image.shape
    assert np.array_equal(out[~mask], image[~mask])
    assert np.abs(out[260:340, 110:190].astype(float) - 40).max() <= 4
    assert np.abs(out[260:340, 610:690].astype(float) - 200).max() <= 4
    assert OpenCVInpainter().inpaint(image, np.zeros((h, w), bool)) is image
