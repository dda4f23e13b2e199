"""Videos as people have them: phone videos stored rotated, variable frame rates, and live
streams that drop frames keep their orientation, timing and audio sync."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from streamedit_sdk.cli import main
from streamedit_sdk.io.video import VideoReader

FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (apt-get "
                                "install ffmpeg; .ci/run installs it)")


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True)


def _durations(path: Path) -> dict[str, float]:
    """Duration of each stream (video, audio) in seconds, from the packets."""
    import av

    out: dict[str, float] = {}
    with av.open(str(path)) as c:
        for p in c.demux():
            if p.pts is not None:
                end = float((p.pts + (p.duration or 0)) * p.time_base)
                out[p.stream.type] = max(out.get(p.stream.type, 0.0), end)
    return out


@pytest.mark.parametrize("rotate", [90, 270])
def test_a_rotated_phone_video_comes_out_as_it_plays(clips, tmp_path, rotate):
    wide = tmp_path / "wide.mp4"
    _ffmpeg("-i", str(clips / "d18.mp4"), "-frames:v", "20", "-vf", "crop=480:320:0:60",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", str(wide))
    phone = tmp_path / "phone.mp4"  # stored 480x320, displayed 320x480
    _ffmpeg("-i", str(wide), "-c", "copy", "-metadata:s:v", f"rotate={rotate}", str(phone))
    shown = tmp_path / "shown.rgb"  # what a player shows: ffmpeg applies the rotation
    _ffmpeg("-i", str(phone), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24",
            str(shown))
    out = tmp_path / "out.mp4"
    assert main(["edit", str(phone), "-o", str(out), "--style", "teal-orange", "-q"]) == 0
    plain = tmp_path / "plain.mp4"
    assert main(["edit", str(phone), "-o", str(plain), "--sticker", "star", "-q"]) == 0
    first = next(iter(VideoReader(plain)))
    assert first.shape == (480, 320, 3)  # as displayed, and played without a rotation
    expected = np.fromfile(shown, np.uint8).reshape(480, 320, 3)
    close = np.abs(first.astype(np.int16) - expected).max(2) < 40
    assert close.mean() > 0.95  # the same picture, the same way up (the sticker aside)
    assert not close.all()  # and the sticker is on it: a face was found upright
    assert next(iter(VideoReader(out))).shape == (480, 320, 3)


def test_variable_frame_rate_keeps_every_frame_time(clips, tmp_path):
    vfr = tmp_path / "vfr.mp4"  # 40 frames at 30 fps, a gap, then every third frame
    _ffmpeg("-i", str(clips / "d18.mp4"), "-vf",
            r"select='lt(n\,40)+gt(n\,120)*not(mod(n\,3))'", "-fps_mode", "vfr", "-c:a",
            "copy", str(vfr))
    out = tmp_path / "out.mp4"
    assert main(["edit", str(vfr), "-o", str(out), "--sticker", "star", "-q"]) == 0
    t_in = [float(t) for _, t in VideoReader(vfr).timed()]
    t_out = [float(t) for _, t in VideoReader(out).timed()]
    assert len(t_in) == len(t_out) and t_in[40] - t_in[39] > 2.0  # the gap is there
    assert max(abs(a - b) for a, b in zip(t_in, t_out)) < 1e-3
    d_in, d_out = _durations(vfr), _durations(out)
    assert abs(d_out["video"] - d_in["video"]) < 0.15
    assert abs(d_out["audio"] - d_out["video"]) < abs(d_in["audio"] - d_in["video"]) + 0.15


def test_dropped_frames_keep_the_duration(clips, tmp_path):
    """--realtime --policy drop with an editor slower than the clip: frames are dropped, the
    written ones keep their input times, so the video lasts as long as the input."""
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    assert main(["stream", "--input", str(clips / "d18.mp4"), "--output", str(out),
                 "--style", "cartoon", "--realtime", "--policy", "drop", "--queue", "1",
                 "--stats-json", str(stats)]) == 0
    import json

    s = json.loads(stats.read_text())
    assert s["dropped"] > 0 and s["frames_out"] + s["dropped"] == s["frames_in"]
    d_in, d_out = _durations(clips / "d18.mp4"), _durations(out)
    assert abs(d_out["video"] - d_in["video"]) < 0.5, (d_in, d_out, s)
    assert "audio" in d_out and abs(d_out["audio"] - d_out["video"]) < 0.5
