"""Blend-edit: the C++ kernel against the numpy reference bit for bit, its rule, its checks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_map

from streamedit_sdk import kernels
from streamedit_sdk.maps import OFF_REFERENCE


def _inputs(rng, h: int, w: int, channels: int, src_size: tuple[int, int] | None = None):
    hs, ws = src_size or (h, w)
    src = rng.integers(0, 256, (hs, ws, channels), dtype=np.uint8)
    frame = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    corr = smooth_map(h, w, rng, amplitude=4.0) * np.float32([ws / w, hs / h])
    corr[: h // 5] = OFF_REFERENCE  # sent off the reference: the frame shows
    corr[h // 2, : w // 3] = np.nan
    corr[-2:, -3:] = [ws - 0.6, hs - 0.6]  # the image's last pixel, at the footprint's edge
    edit_map = (corr + rng.uniform(-3, 3, corr.shape)).astype(np.float32)
    delta = rng.normal(0, 20, (h, w, channels)).astype(np.float32)
    delta[rng.uniform(size=(h, w)) < 0.3] = 0.0  # unedited pixels
    valid = (rng.uniform(size=(h, w)) > 0.15).astype(np.uint8)
    return src, frame, corr, edit_map, delta, valid


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(37, 53), (64, 131), (5, 1)])
def test_cpp_matches_the_numpy_reference_bit_for_bit(rng, channels, size):
    h, w = size
    src, frame, corr, edit_map, delta, valid = _inputs(rng, h, w, channels, (h + 7, w + 3))
    for args in ((src, corr, edit_map, valid), (src, corr, None, valid), (src, corr, None, None),
                 (src, corr, edit_map, None), (None, None, None, None)):
        cpp = kernels.blend_edit(frame, delta, *args, full=16.0)
        ref = kernels.blend_edit(frame, delta, *args, full=16.0, impl="numpy")
        assert cpp.dtype == np.uint8 and cpp.shape == frame.shape
        np.testing.assert_array_equal(cpp, ref)


@pytest.mark.parametrize("channels", [1, 3])
def test_runs_where_the_maps_agree_or_nothing_is_edited_match_bit_for_bit(rng, channels):
    """The kernel skips the edit's map on runs of pixels where it equals the correspondence
    (off the face) or the edit is nil (around a sticker): the output is the reference's."""
    h, w = 48, 300
    src, frame, corr, edit_map, delta, valid = _inputs(rng, h, w, channels)
    edit_map[h // 3:, : w // 2] = corr[h // 3:, : w // 2]  # off the face: the same map
    edit_map[h // 3:, w // 2:w // 2 + 3] = corr[h // 3:, w // 2:w // 2 + 3]
    delta[: h // 3, w // 4:] = 0.0  # no edit: the weight is 0
    delta[: h // 3, w // 4 + 70] = 5.0  # an edited pixel inside an otherwise nil run
    for v in (valid, None):
        cpp = kernels.blend_edit(frame, delta, src, corr, edit_map, v, full=16.0)
        ref = kernels.blend_edit(frame, delta, src, corr, edit_map, v, full=16.0, impl="numpy")
        np.testing.assert_array_equal(cpp, ref)


def test_the_last_pixel_of_a_tiny_image_is_sampled_exactly(rng):
    # a 1x2 and a 2x1 source: every fast-path read ends at the image's last element
    for hs, ws in ((1, 2), (2, 1), (2, 2)):
        src = rng.integers(0, 256, (hs, ws, 3), dtype=np.uint8)
        corr = np.float32(rng.uniform(0, 1, (4, 4, 2))) * np.float32([ws - 1, hs - 1])
        frame = np.zeros((4, 4, 3), np.uint8)
        delta = np.zeros((4, 4, 3), np.float32)
        np.testing.assert_array_equal(kernels.blend_edit(frame, delta, src, corr),
                                      kernels.grid_sample(src, corr, fallback=frame))


def test_residual_is_the_frame_plus_the_delta_rounded_half_up():
    frame = np.array([[[10, 250, 0]]], np.uint8)
    delta = np.array([[[2.5, 10.0, -3.0]]], np.float32)
    np.testing.assert_array_equal(kernels.blend_edit(frame, delta), [[[13, 255, 0]]])


def test_no_edit_is_the_correspondence_and_a_full_edit_is_the_edits_map(rng):
    src, frame, corr, edit_map, _, valid = _inputs(rng, 40, 48, 3)
    zero = np.zeros(frame.shape, np.float32)
    by_corr = kernels.grid_sample(src, corr, fallback=frame, valid=valid)
    np.testing.assert_array_equal(kernels.blend_edit(frame, zero, src, corr, edit_map, valid),
                                  by_corr)
    strong = np.full(frame.shape, 40.0, np.float32)  # >= full: the edit's map alone
    by_edit = kernels.grid_sample(src, edit_map, fallback=frame, valid=valid).astype(np.float32)
    got = kernels.blend_edit(frame, strong, src, corr, edit_map, valid, full=16.0)
    np.testing.assert_allclose(got, np.clip(by_edit + 40.0, 0, 255), atol=1.0)
    # half way: w = 8 / 16 mixes the two samples equally
    half = np.zeros(frame.shape, np.float32)
    half[..., 1] = -8.0
    mixed = (by_corr.astype(np.float32) + by_edit) / 2 + half
    got = kernels.blend_edit(frame, half, src, corr, edit_map, valid, full=16.0)
    np.testing.assert_allclose(got, np.clip(mixed, 0, 255), atol=1.0)


def test_where_the_map_is_off_or_invalid_the_frame_shows(rng):
    src, frame, corr, edit_map, delta, valid = _inputs(rng, 30, 30, 3)
    valid[:] = 1
    valid[-5:] = 0
    out = kernels.blend_edit(frame, delta, src, corr, edit_map, valid)
    own = kernels.blend_edit(frame, delta)  # frame + delta
    np.testing.assert_array_equal(out[:6], own[:6])  # OFF_REFERENCE rows
    np.testing.assert_array_equal(out[-5:], own[-5:])  # valid == 0


@pytest.mark.parametrize("bad, message", [
    (dict(src="src"), "src and map go together"),
    (dict(edit_map="edit_map"), "edit_map needs src"),
    (dict(full=0.0), "full must be > 0"),
    (dict(impl="cuda"), "impl must be"),
    (dict(frame="frame_f32"), "frame must be uint8"),
    (dict(delta="delta_small"), "delta must have shape"),
    (dict(src="src", map="map_small"), "map is 10x8"),
])
def test_bad_arguments_say_what_is_wrong(rng, bad, message):
    h, w = 8, 12
    arrays = {"frame": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
              "frame_f32": np.zeros((h, w, 3), np.float32),
              "delta": np.zeros((h, w, 3), np.float32),
              "delta_small": np.zeros((h, w - 1, 3), np.float32),
              "src": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
              "edit_map": np.zeros((h, w, 2), np.float32),
              "map_small": np.zeros((8, 10, 2), np.float32)}
    kwargs = {"frame": arrays["frame"], "delta": arrays["delta"]}
    for key, value in bad.items():
        kwargs[key] = arrays[value] if isinstance(value, str) and value in arrays else value
    with pytest.raises(ValueError, match=message):
        kernels.blend_edit(**kwargs)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_edit_weight_matches_the_numpy_reference_bit_for_bit(rng, channels):
    delta = rng.normal(0, 20, (37, 61, channels)).astype(np.float32)
    delta[rng.uniform(size=(37, 61)) < 0.3] = 0.0
    delta[0, :4] = -0.0
    delta[1, :4] = 1e30
    for full in (1.0, 16.0, 255.0):
        cpp = kernels.edit_weight(delta, full)
        ref = kernels.edit_weight(delta, full, impl="numpy")
        assert cpp.dtype == np.float32 and cpp.shape == delta.shape[:2]
        np.testing.assert_array_equal(cpp, ref)
    w = kernels.edit_weight(delta, 16.0)
    assert w.min() == 0.0 and w.max() == 1.0  # nil edits weigh 0, strong ones 1


def test_edit_weight_checks_its_arguments():
    with pytest.raises(ValueError, match="float32"):
        kernels.edit_weight(np.zeros((4, 4, 3), np.float64))
    with pytest.raises(ValueError, match="full"):
        kernels.edit_weight(np.zeros((4, 4, 3), np.float32), 0.0)
    with pytest.raises(ValueError, match="channels"):
        kernels.edit_weight(np.zeros((4, 4, 5), np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        kernels.edit_weight(np.zeros((4, 4, 4), np.float32)[..., :3])
