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


def test_replace_warps_the_reference_by_the_correspondence_and_adds_the_carried_edit():
    """Replace mode: the reference's own pixels by the correspondence (out-of-image points
    from the live frame), the user's edit added on top as carried by the edit's map."""
    rng = np.random.default_rng(3)
    h, w = 24, 32
    ref_rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    features = FlowReference(np.zeros((h, w), np.uint8))
    zero = np.zeros((h, w, 3), np.float32)
    origin = ops.Origin(0, zero, features, ref_rgb)
    reference = ops.Reference(5, ref_rgb, ref_rgb, zero, origin, None, None, None, features)
    corr = identity_map(h, w) + rng.uniform(-3, 3, (h, w, 2)).astype(np.float32)
    delta = rng.uniform(-40, 40, (h, w, 3)).astype(np.float32)
    carried = ops.CarriedEdit(corr, None, delta, corr)

    out = ops.propagate(reference, carried, corr, frame, "replace")

    # the sample is not rounded before the edit is added (one rounding, at the end)
    base, _ = ref_kernels.sample_float(ref_rgb, corr, fallback=frame)
    assert np.array_equal(out, np.floor(np.clip(base + delta + 0.5, 0, 255)).astype(np.uint8))
    # with an edit's map: edited pixels (|delta| >= 16) take the reference by it
    led = identity_map(h, w)
    both = ops.propagate(reference, carried, corr, frame, "replace", edit_map=led)
    by_led, _ = ref_kernels.sample_float(ref_rgb, led, fallback=frame)
    strong = np.abs(delta).max(axis=2) >= 16
    assert np.array_equal(both[strong], np.floor(np.clip(by_led + delta + 0.5, 0, 255))
                          .astype(np.uint8)[strong])
    residual = ops.propagate(reference, carried, corr, frame, "residual")
    assert np.array_equal(residual, np.clip(np.floor(frame + delta + 0.5), 0, 255)
                          .astype(np.uint8))


def test_carry_takes_unknown_pixels_from_the_current_reference():
    """A reference taken by replacement: pixels traced to the origin carry the user's edit at
    the composed map, the others (inpainted at the switch) the reference's own edit."""
    rng = np.random.default_rng(4)
    h, w = 24, 32
    features = FlowReference(np.zeros((h, w), np.uint8))
    origin_delta = rng.uniform(-50, 50, (h, w, 3)).astype(np.float32)
    own_delta = rng.uniform(-50, 50, (h, w, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    origin = ops.Origin(0, origin_delta, features, rgb)
    to_origin = identity_map(h, w) + rng.uniform(-4, 4, (h, w, 2)).astype(np.float32)
    known = np.where(rng.random((h, w)) > 0.3, 255, 0).astype(np.uint8)
    reference = ops.Reference(5, rgb, rgb, own_delta, origin, to_origin, known, None, features)
    edit_map = identity_map(h, w)  # the frame is the reference: the trace is its own

    carried = ops.carry_edit(reference, edit_map, edit_map)

    traced = known >= 128
    assert np.array_equal(carried.known, traced)
    # (a trace that leaves the origin's image falls back to the reference's own edit)
    from_origin = ref_kernels.grid_sample(origin_delta, to_origin, fallback=own_delta,
                                          border="zero")
    assert np.allclose(carried.delta[traced], from_origin[traced], atol=1e-4)
    assert np.allclose(carried.delta[~traced], own_delta[~traced], atol=1e-4)


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
