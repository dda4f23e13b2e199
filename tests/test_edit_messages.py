"""What ``streamedit edit`` tells a user about an edit that cannot be what they meant: a
sticker with nothing to draw, an edited frame saved with red and blue swapped, and which
references the edit used (the face leaving and coming back)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_helpers import ffmpeg, frames_in, needs_ffmpeg

import streamedit_sdk as se
from streamedit_sdk.apps.edit_file import EditSummary
from streamedit_sdk.cli import main
from streamedit_sdk.frames import looks_red_blue_swapped
from streamedit_sdk.io.video import VideoReader


@pytest.mark.parametrize("alpha, word", [(0, "fully"), (1, "nearly")])
def test_a_transparent_sticker_is_refused(face_clip, tmp_path, capsys, alpha, word):
    sticker = tmp_path / "empty.png"
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., :3] = 200  # colour everywhere, (next to) no alpha
    rgba[..., 3] = alpha
    cv2.imwrite(str(sticker), rgba)
    out = tmp_path / "o.mp4"
    assert main(["edit", str(face_clip), "-o", str(out), "--sticker", str(sticker), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"is {word} transparent (its alpha is at most {alpha} of 255" in err
    assert not out.exists()


@pytest.fixture
def moustache(face_clip):
    """Frame 0 of the face clip with a red stroke drawn on it (RGB)."""
    frame = next(iter(VideoReader(face_clip)))
    edited = frame.copy()
    cv2.line(edited, (230, 300), (290, 300), (220, 30, 30), 6)
    return frame, edited


def test_an_edited_frame_saved_with_red_and_blue_swapped_is_caught(face_clip, tmp_path,
                                                                    capsys, moustache):
    frame, edited = moustache
    swapped = tmp_path / "swapped.png"
    cv2.imwrite(str(swapped), edited)  # an RGB array written by OpenCV, which expects BGR
    out = tmp_path / "o.mp4"
    assert main(["edit", str(face_clip), "-o", str(out), "--edited-ref", str(swapped),
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert "looks like the frame with red and blue swapped" in err
    assert "cv2.cvtColor(img, cv2.COLOR_RGB2BGR)" in err and not out.exists()
    assert "--keep-colours" in err
    right = tmp_path / "right.png"
    cv2.imwrite(str(right), cv2.cvtColor(edited, cv2.COLOR_RGB2BGR))
    assert main(["edit", str(face_clip), "-o", str(out), "--edited-ref", str(right),
                 "-q"]) == 0
    assert frames_in(out) == 40
    meant = tmp_path / "meant.mp4"  # a swap that is the edit
    assert main(["edit", str(face_clip), "-o", str(meant), "--edited-ref", str(swapped),
                 "--keep-colours", "-q"]) == 0
    first = next(iter(VideoReader(meant))).astype(int)
    assert np.abs(first - frame[..., ::-1]).mean() < np.abs(first - frame).mean() / 3


def test_swapped_colours_are_told_apart_from_colour_edits(moustache):
    frame, edited = moustache
    assert looks_red_blue_swapped(frame, edited[..., ::-1])
    assert not looks_red_blue_swapped(frame, edited)
    assert not looks_red_blue_swapped(frame, se.edits.apply_style("teal-orange", frame))
    grey = np.repeat(frame.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    assert not looks_red_blue_swapped(grey, grey[..., ::-1])  # nothing to tell by


def test_the_api_warns_of_swapped_colours(moustache, caplog):
    frame, edited = moustache
    with caplog.at_level(logging.WARNING), se.StreamEditor() as editor:
        editor.set_reference(frame, np.ascontiguousarray(edited[..., ::-1]))
    assert "looks like the frame with red and blue swapped" in caplog.text


@needs_ffmpeg
def test_the_summary_says_when_the_edit_went_back_to_the_users_frame(face_clip, tmp_path,
                                                                     capsys):
    """A hard cut to a shot without a face and back: a reference is taken in the faceless
    shot, and the user's frame is the reference again when the face returns; the summary
    says so instead of listing frame 0 twice."""
    import skimage.data

    photo = tmp_path / "coffee.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    cup = tmp_path / "cup.mp4"
    ffmpeg("-loop", "1", "-framerate", "25", "-i", str(photo), "-vf",
           "crop=512:400:x=40:y=0,scale=512:512", "-t", "1", "-pix_fmt", "yuv420p", str(cup))
    cut = tmp_path / "cut.mp4"
    ffmpeg("-i", str(face_clip), "-i", str(cup), "-i", str(face_clip), "-filter_complex",
           "[0:v][1:v][2:v]concat=n=3:v=1[v]", "-map", "[v]", "-c:v", "libx264", str(cut))
    assert main(["edit", str(cut), "-o", str(tmp_path / "o.mp4"), "--style", "cartoon",
                 "-q"]) == 0
    line = capsys.readouterr().out
    assert "back to reference 0 at frame 65, when the face returned" in line
    refs = line.split("references (frames ")[1].split(";")[0]
    assert refs.split(", ").count("0") == 1


def test_summary_lines_of_references():
    def summary(refs, returns=()):
        return EditSummary(Path("in.mp4"), Path("o.mp4"), 9, refs, 0, 0, 1.0, False, False,
                           returns=returns).references_text()
    assert summary((0,)) == "1 reference (frame 0)"
    assert summary((0, 4)) == "2 references (frames 0, 4)"
    assert summary((0, 15, 50, 96, 0, 130), ((100, 0),)) == (
        "5 references (frames 0, 15, 50, 96, 130; back to reference 0 at frame 100, when the "
        "face returned)")
