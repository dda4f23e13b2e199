"""Videos the file tests make for themselves: a synthetic face clip, and inputs made from it
by the real ffmpeg (looped with an audio track, damaged, reordered). No binary fixtures."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streamedit_sdk.apps import synthetic
from streamedit_sdk.io.video import VideoReader, VideoWriter

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None or FFPROBE is None,
                                  reason="needs the ffmpeg and ffprobe binaries (apt-get "
                                  "install ffmpeg; .ci/run installs it)")
CLI = [sys.executable, "-m", "streamedit_sdk.cli"]


def ffmpeg(*args: str) -> None:
    """Run the real ffmpeg quietly; a failure shows its message."""
    done = subprocess.run([FFMPEG, "-v", "error", "-y", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def probe_frames(path: Path) -> int:
    """The video frames ffprobe decodes (``-count_frames``): what players can show."""
    done = subprocess.run([FFPROBE, "-v", "error", "-count_frames", "-select_streams", "v:0",
                           "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                           str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def probe_streams(path: Path) -> list[str]:
    """The kinds of a file's streams in their order, e.g. ['video', 'audio']."""
    done = subprocess.run([FFPROBE, "-v", "error", "-show_entries", "stream=codec_type",
                           "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                          check=True)
    return done.stdout.split()


def frames_in(path: Path) -> int:
    """Frames the SDK's reader decodes."""
    return sum(1 for _ in VideoReader(path))


def partials(folder: Path) -> list[str]:
    """Partial (unfinished) output files in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


@pytest.fixture(scope="session")
def face_clip(tmp_path_factory) -> Path:
    """40 frames of a moving face at 512x512, 25 fps (no audio)."""
    path = tmp_path_factory.mktemp("clips") / "face.mp4"
    with VideoWriter(path, 25) as w:
        for f in synthetic.clip(40)[0]:
            w.write(f)
    return path


@pytest.fixture(scope="session")
def long_clip(face_clip, tmp_path_factory) -> Path:
    """The face clip looped by ffmpeg to 480 frames (19.2 s) with an AAC tone as audio: long
    enough to be interrupted mid-edit."""
    if FFMPEG is None:
        pytest.skip("needs the ffmpeg binary")
    path = tmp_path_factory.mktemp("clips") / "long.mp4"
    ffmpeg("-stream_loop", "11", "-i", str(face_clip), "-f", "lavfi", "-i",
           "sine=frequency=440:duration=19.2", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
           "-c:a", "aac", "-shortest", str(path))
    return path
