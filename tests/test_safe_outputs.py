"""A user's files are never lost or damaged: outputs over inputs are refused, interrupted and
failed runs leave either a playable file with every frame done so far or nothing at all."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from media_helpers import CLI
from media_helpers import frames_in as _frames
from media_helpers import partials as _leftovers

from streamedit_sdk.apps import edit_file
from streamedit_sdk.cli import main
from streamedit_sdk.io.paths import check_outputs
from streamedit_sdk.io.video import VideoReader, VideoWriter


@pytest.fixture
def user_copy(face_clip, tmp_path) -> Path:
    path = tmp_path / "t.mp4"
    path.write_bytes(face_clip.read_bytes())
    return path


@pytest.mark.parametrize("how", ["same", "dot", "symlink", "hardlink", "compare"])
def test_output_over_the_input_is_refused(user_copy, tmp_path, monkeypatch, capsys, how):
    before = user_copy.read_bytes()
    other = tmp_path / "out.mp4"
    monkeypatch.chdir(tmp_path)
    if how == "same":
        argv = ["-o", str(user_copy)]
    elif how == "dot":
        argv = ["-o", "./t.mp4"]
    elif how == "symlink":
        (tmp_path / "link.mp4").symlink_to(user_copy)
        argv = ["-o", "link.mp4"]
    elif how == "hardlink":
        os.link(user_copy, tmp_path / "hard.mp4")
        argv = ["-o", "hard.mp4"]
    else:
        argv = ["-o", str(other), "--compare", str(user_copy)]
    assert main(["edit", str(user_copy), *argv, "--sticker", "star", "-q"]) == 2
    err = capsys.readouterr().err
    assert "is the input video" in err and "choose another output name" in err
    assert len(err.strip().splitlines()) == 1
    assert user_copy.read_bytes() == before
    assert not other.exists() and _leftovers(tmp_path) == []


def test_output_and_compare_must_differ(user_copy, tmp_path, capsys):
    out = tmp_path / "o.mp4"
    assert main(["edit", str(user_copy), "-o", str(out), "--compare", str(out),
                 "--sticker", "star", "-q"]) == 2
    assert "same file as --output" in capsys.readouterr().err
    assert not out.exists()


def test_stream_output_over_its_input_is_refused(user_copy, capsys):
    before = user_copy.read_bytes()
    assert main(["stream", "--input", str(user_copy), "--output", str(user_copy),
                 "--sticker", "star"]) == 2
    assert "is the input video" in capsys.readouterr().err
    assert user_copy.read_bytes() == before


def test_pipes_and_urls_are_not_files():
    check_outputs([("--input", "-")], [("--output", "-")])  # stdin to stdout: fine
    check_outputs([("--input", "udp://127.0.0.1:5000")], [("--output", "udp://127.0.0.1:5000")])


def _signal_at(monkeypatch, sig: signal.Signals, at: int) -> None:
    """Deliver ``sig`` to this process while the edit loop reads frame ``at``."""
    real = edit_file.track

    def track(items, *args, **kwargs):
        for i, item in enumerate(real(items, *args, **kwargs)):
            if i == at:
                signal.raise_signal(sig)
            yield item
    monkeypatch.setattr(edit_file, "track", track)


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_keeps_every_frame_edited_so_far(face_clip, tmp_path, monkeypatch, capsys,
                                                  sig, status):
    _signal_at(monkeypatch, sig, 12)
    out, compare = tmp_path / "o.mp4", tmp_path / "c.mp4"
    assert main(["edit", str(face_clip), "-o", str(out), "--compare", str(compare),
                 "--sticker", "star", "-q"]) == status
    line = capsys.readouterr().out
    assert f"by {sig.name}" in line and "1 reference (frame 0)" in line
    n = int(line.split("interrupted at frame ")[1].split()[0])
    assert 12 <= n < 40  # the frames in hand were finished, the rest not read
    assert _frames(out) == n and _frames(compare) == n
    assert _leftovers(tmp_path) == []
    assert signal.getsignal(sig) is not None  # handlers restored
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_failure_midway_leaves_the_old_output_untouched(face_clip, tmp_path, monkeypatch,
                                                          capsys):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"yesterday's result")
    real_write = VideoWriter.write

    def write(self, rgb, seconds=None):
        if self.frames == 9:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real_write(self, rgb, seconds)
    monkeypatch.setattr(VideoWriter, "write", write)
    assert main(["edit", str(face_clip), "-o", str(out), "--sticker", "star", "-q"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free some space" in err
    assert len(err.strip().splitlines()) == 1
    assert out.read_bytes() == b"yesterday's result"
    assert _leftovers(tmp_path) == []


def test_sigterm_to_a_running_edit_leaves_a_playable_file(clips, tmp_path):
    """The real thing: another process sends SIGTERM while `streamedit edit` runs."""
    out = tmp_path / "o.mp4"
    proc = subprocess.Popen([*CLI, "edit", str(clips / "d18.mp4"), "-o", str(out),
                             "--sticker", "star", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in tmp_path.iterdir() if ".partial-" in p.name]
        if partial and partial[0].stat().st_size > 20_000:  # some frames are encoded
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the edit ended before it could be interrupted"
    assert not out.exists()  # nothing under the user's name while it runs
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    n = int(stdout.split("interrupted at frame ")[1].split()[0])
    reader = VideoReader(out)
    assert sum(1 for _ in reader) == n and not reader.truncated
    assert reader.info.has_audio
    assert _leftovers(tmp_path) == []
