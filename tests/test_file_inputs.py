"""Inputs as users have them, made by the real ffmpeg inside the tests: a file with damaged
bytes in the middle, stream orders, a folder, a cut file, output names the SDK cannot write,
and a clip with no face at all."""

from __future__ import annotations

import re
import subprocess

import av
import numpy as np
import pytest
from media_helpers import (FFPROBE, ffmpeg, frames_in, needs_ffmpeg, partials, probe_frames,
                           probe_streams)

from streamedit_sdk.cli import main
from streamedit_sdk.edits import apply_style
from streamedit_sdk.io.video import VideoReader

pytestmark = needs_ffmpeg


@pytest.fixture(scope="module")
def damaged(face_clip, tmp_path_factory):
    """80 frames (keyframe every 12) whose packets 30-33 are zeroed on disk, as a bad copy
    leaves them; and what ffprobe decodes of it."""
    folder = tmp_path_factory.mktemp("damaged")
    whole = folder / "whole.mp4"
    ffmpeg("-stream_loop", "1", "-i", str(face_clip), "-c:v", "libx264", "-g", "12",
           "-preset", "veryfast", str(whole))
    with av.open(str(whole)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    data = bytearray(whole.read_bytes())
    start, end = packets[30][0], packets[33][0] + packets[33][1]
    data[start:end] = bytes(end - start)
    path = folder / "damaged.mp4"
    path.write_bytes(bytes(data))
    return path, probe_frames(path)


def _lost_times(path) -> list[float]:
    """The times of the packets ffprobe decodes no frame for: the frames a player skips."""
    def times(kind):
        out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v:0",
                              "-show_entries", f"{kind}=pts_time", "-of", "csv=p=0",
                              str(path)], capture_output=True, text=True, check=True).stdout
        return {round(float(t.strip(",")), 2) for t in out.split() if t.strip(",")}
    return sorted(times("packet") - times("frame"))


def test_a_damaged_stretch_is_skipped_and_the_edit_goes_on(damaged, tmp_path, capsys):
    path, playable = damaged
    assert 60 < playable < 80  # ffprobe decodes past the damage; a few frames are lost
    out = tmp_path / "o.mp4"
    assert main(["edit", str(path), "-o", str(out), "--sticker", "star", "-q"]) == 0
    line = capsys.readouterr().out
    assert frames_in(out) == playable  # every frame a player can show is edited
    assert f"edited {playable} frames" in line
    assert f"{80 - playable} frames could not be decoded and were skipped (at " in line
    lost = _lost_times(path)
    assert len(lost) == 80 - playable
    said = [float(t) for t in re.findall(r"\d+\.\d\d", line.split("skipped")[1])]
    assert said[0] == lost[0] and said[-1] == lost[-1], (said, lost)  # the frames' own times
    assert "truncated" not in line


def test_a_live_stream_input_skips_damaged_packets_too(damaged, tmp_path, capsys):
    path, playable = damaged
    out = tmp_path / "o.mp4"
    assert main(["stream", "--input", str(path), "--output", str(out), "--style",
                 "teal-orange"]) == 0
    err = capsys.readouterr().err
    assert f"streamed {playable} of {playable} frames" in err
    assert f"{80 - playable} frames could not be decoded and were skipped" in err
    assert frames_in(out) == playable


@pytest.mark.parametrize("order", [["video", "audio"], ["audio", "video"],
                                   ["audio", "video", "audio"]])
def test_the_output_keeps_the_inputs_stream_order(face_clip, tmp_path, order):
    """Some players and editors take stream 0: the output lists its streams as the input
    did (the audio used to come first whatever the input), every audio track included."""
    src = tmp_path / "in.mp4"
    maps, tone = [], 1
    for kind in order:
        if kind == "video":
            maps += ["-map", "0:v"]
        else:
            maps += ["-map", f"{tone}:a"]
            tone += 1
    tones = [a for k in range(1, tone) for a in ("-f", "lavfi", "-i",
                                                  f"sine=frequency={300 * k}:duration=1.6")]
    ffmpeg("-i", str(face_clip), *tones, *maps, "-c:v", "copy", "-c:a", "aac", "-shortest",
           str(src))
    assert probe_streams(src) == order
    out = tmp_path / "o.mp4"
    assert main(["edit", str(src), "-o", str(out), "--sticker", "star", "-q"]) == 0
    assert probe_streams(out) == order
    assert frames_in(out) == 40


def test_a_cut_file_and_a_folder_are_named_for_what_they_are(face_clip, tmp_path, capsys):
    cut = tmp_path / "cut.mp4"  # the index is at the end: the cut file has none
    cut.write_bytes(face_clip.read_bytes()[: face_clip.stat().st_size // 2])
    assert main(["edit", str(cut), "-o", str(tmp_path / "o.mp4"), "--style", "cartoon",
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert "Errno" not in err and "Invalid data found when processing input" in err
    assert "a copy or download that did not finish" in err
    folder = tmp_path / "videos"
    folder.mkdir()
    for command in (["edit", str(folder), "-o", str(tmp_path / "o.mp4"), "-q"],
                    ["stream", "--input", str(folder), "--output", str(tmp_path / "o.mp4")]):
        assert main([*command, "--style", "cartoon"]) == 2
        assert "is a folder, not a video file" in capsys.readouterr().err


@pytest.mark.parametrize("name, why", [
    ("o.webm", "is WebM, which holds VP8/VP9/AV1 only"),
    ("o.gif", "is an image format (.gif)"),
    ("o.png", "is an image format (.png)"),
    ("o", "has no extension"),
    ("o.avi", "a container the SDK does not write H.264 into"),
    ("folder.mp4", "is a folder: give a file name in it"),
    ("folder", "is a folder: give a file name in it"),
])
def test_output_names_the_sdk_cannot_write_are_refused_first(face_clip, tmp_path, capsys,
                                                             name, why):
    out = tmp_path / name
    if why.startswith("is a folder"):
        out.mkdir()
    assert main(["edit", str(face_clip), "-o", str(out), "--sticker", "star", "-q"]) == 2
    err = capsys.readouterr().err
    assert why in err
    assert "use .mp4 (plays everywhere), .mov, .mkv or .ts" in err or "is a folder" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["stream", "--input", str(face_clip), "--output", str(out), "--style",
                 "cartoon"]) == 2
    assert why in capsys.readouterr().err
    assert not out.is_file() and partials(tmp_path) == []
    assert main(["edit", str(face_clip), "-o", str(tmp_path / "fine.mp4"), "--compare",
                 str(out), "--sticker", "star", "-q"]) == 2  # --compare too, before any work
    assert why in capsys.readouterr().err and not (tmp_path / "fine.mp4").exists()


@pytest.mark.parametrize("ext", [".mov", ".mkv", ".m4v", ".ts"])
def test_the_other_containers_work(face_clip, tmp_path, ext):
    out = tmp_path / f"o{ext}"
    assert main(["edit", str(face_clip), "-o", str(out), "--style", "sketch", "-q"]) == 0
    assert frames_in(out) == 40


@pytest.fixture(scope="module")
def faceless(tmp_path_factory):
    """A camera panning over a photo of a coffee cup (scikit-image's): no face anywhere."""
    import cv2
    import skimage.data

    folder = tmp_path_factory.mktemp("faceless")
    photo = folder / "coffee.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))
    path = folder / "pan.mp4"
    ffmpeg("-loop", "1", "-framerate", "25", "-i", str(photo), "-vf",
           "crop=320:240:x='min(t*60,280)':y='40+t*20'", "-t", "2", "-pix_fmt", "yuv420p",
           str(path))
    return path


def test_a_style_is_carried_on_a_clip_without_a_face(faceless, tmp_path, capsys):
    """A style needs no face: optical flow carries it. A sticker is pinned to a face, so it is
    still refused, with what to do."""
    out = tmp_path / "o.mp4"
    assert main(["edit", str(faceless), "-o", str(out), "--style", "cartoon", "-q"]) == 0
    line = capsys.readouterr().out
    assert "edited 50 frames" in line
    assert "no face in the reference frame: the edit is carried by optical flow" in line
    inputs, outputs = list(VideoReader(faceless)), list(VideoReader(out))
    for t in (10, 25):  # what frame 0 saw carries the style: nearer the styled input
        seen = np.s_[: 240 - round(20 * t / 25), : 320 - round(60 * t / 25)]  # (the pan)
        styled = apply_style("cartoon", inputs[t]).astype(int)[seen]
        to_style = np.abs(outputs[t][seen].astype(int) - styled).mean()
        to_input = np.abs(outputs[t][seen].astype(int) - inputs[t][seen]).mean()
        assert to_style < 0.6 * to_input, (t, to_style, to_input)
    assert main(["edit", str(faceless), "-o", str(tmp_path / "s.mp4"), "--sticker", "star",
                 "-q"]) == 2
    assert "no face found in the reference frame to pin the sticker on" in \
        capsys.readouterr().err
