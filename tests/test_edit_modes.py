"""How an edited frame is taken and carried: an RGBA layer is composited over the reference
frame (transparent = unchanged), and the propagation mode follows what the edit changes (a
drawn moustache as a residual, a repainted frame as pixels), which the summary line says."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import streamedit_sdk as se
from streamedit_sdk.cli import main
from streamedit_sdk.edits.modes import RESIDUAL_UP_TO, changed_share, measured_mode
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.io.images import read_edited
from streamedit_sdk.io.video import VideoReader


def _strokes(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A red moustache and a blue dot on a transparent layer: (H, W, 3) RGB and (H, W) alpha
    with soft edges, as a drawing app exports them."""
    h, w = shape
    colour = np.zeros((h, w, 3), np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    cv2.line(colour, (230, 300), (290, 300), (220, 30, 30), 7)
    cv2.line(alpha, (230, 300), (290, 300), 255, 7)
    cv2.circle(colour, (300, 200), 6, (30, 40, 230), -1)
    cv2.circle(alpha, (300, 200), 6, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (5, 5), 1.0)  # anti-aliased edges: partial alpha
    return colour, alpha


def _write_layer(path, colour: np.ndarray, alpha: np.ndarray) -> None:
    bgra = np.dstack([cv2.cvtColor(colour, cv2.COLOR_RGB2BGR), alpha])
    assert cv2.imwrite(str(path), bgra)


def test_an_rgba_layer_is_composited_over_the_frame(face_clip, tmp_path):
    frame = next(iter(VideoReader(face_clip)))
    colour, alpha = _strokes(frame.shape[:2])
    layer = tmp_path / "layer.png"
    _write_layer(layer, colour, alpha)
    edited = read_edited(layer, frame)
    clear, solid = alpha == 0, alpha == 255
    assert np.array_equal(edited[clear], frame[clear])  # transparent: the frame itself
    assert np.array_equal(edited[solid], colour[solid])  # opaque: the layer
    soft = (alpha > 60) & (alpha < 200)
    assert soft.any()
    a = alpha[soft, None] / 255.0  # in between: blended by alpha
    want = frame[soft] * (1 - a) + colour[soft] * a
    assert np.abs(edited[soft] - want).max() <= 1.0
    assert edited.mean() > frame.mean() - 5  # not the black a dropped alpha gave


def test_a_fully_transparent_layer_is_refused(face_clip, tmp_path):
    frame = next(iter(VideoReader(face_clip)))
    layer = tmp_path / "empty.png"
    _write_layer(layer, np.zeros_like(frame), np.zeros(frame.shape[:2], np.uint8))
    with pytest.raises(ValueError, match="fully transparent"):
        read_edited(layer, frame)


def test_a_sixteen_bit_edit_is_read(face_clip, tmp_path):
    frame = next(iter(VideoReader(face_clip)))
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    assert np.array_equal(read_edited(path, frame), frame)


def test_an_rgba_layer_edits_like_the_same_strokes_drawn_on_the_frame(face_clip, tmp_path,
                                                                       capsys):
    """The layer and the flattened frame give the same video, in the same (chosen) mode."""
    frame = next(iter(VideoReader(face_clip)))
    colour, alpha = _strokes(frame.shape[:2])
    layer = tmp_path / "layer.png"
    _write_layer(layer, colour, alpha)
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), cv2.cvtColor(read_edited(layer, frame), cv2.COLOR_RGB2BGR))
    outs = []
    for name, edit in (("layer", layer), ("flat", flat)):
        out = tmp_path / f"{name}.mp4"
        assert main(["edit", str(face_clip), "-o", str(out), "--edited-ref", str(edit),
                     "-q", "--no-replace"]) == 0
        line = capsys.readouterr().out
        assert "carried as a difference (residual mode): the edit changes" in line
        outs.append(np.stack(list(VideoReader(out))))
    assert outs[0].shape == outs[1].shape and outs[0].shape[0] == 40
    assert np.abs(outs[0].astype(int) - outs[1].astype(int)).max() <= 2  # encoder noise
    assert outs[0].mean() > 40  # a picture, not black


def test_the_mode_follows_what_the_edit_changes(face_clip):
    frame = next(iter(VideoReader(face_clip)))
    colour, alpha = _strokes(frame.shape[:2])
    a = alpha[..., None] / 255.0
    strokes = np.rint(frame * (1 - a) + colour * a).astype(np.uint8)
    assert 0 < changed_share(frame, strokes) < 0.02
    spec = EditSpec(edited_ref="x.png")
    assert spec.mode_for(frame, strokes).mode == "residual"
    painted = se.edits.apply_style("cartoon", frame)
    assert changed_share(frame, painted) > RESIDUAL_UP_TO
    assert spec.mode_for(frame, painted).mode == "replace"
    assert EditSpec(style="sketch").mode_for(frame, frame).mode == "replace"
    assert EditSpec(sticker="star").mode_for(frame, painted).mode == "residual"
    noisy = cv2.imdecode(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1],
                         cv2.IMREAD_COLOR)  # a re-saved frame changes nothing it means
    assert measured_mode(frame, noisy).mode == "residual"
    assert measured_mode(frame, strokes).describe().startswith(
        "carried as a difference (residual mode): the edit changes under 1% of the picture")


def test_mode_given_overrides_and_is_said(face_clip, tmp_path, capsys):
    frame = next(iter(VideoReader(face_clip)))
    colour, alpha = _strokes(frame.shape[:2])
    layer = tmp_path / "layer.png"
    _write_layer(layer, colour, alpha)
    out = tmp_path / "o.mp4"
    assert main(["edit", str(face_clip), "-o", str(out), "--edited-ref", str(layer), "-q",
                 "--mode", "replace", "--no-replace"]) == 0
    assert "carried as pixels (replace mode): as --mode asked" in capsys.readouterr().out
