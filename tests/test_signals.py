"""No signal loses the frames already edited: a second Ctrl-C, signals while the outputs are
being finished, SIGHUP from a closed terminal, and the partial files that killed runs leave
behind (removed by the next run to the same output, never a live run's)."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from media_helpers import CLI, frames_in, needs_ffmpeg, partials

from streamedit_sdk.apps import edit_file
from streamedit_sdk.cli import main
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.io.paths import PartialLock, partial_path, remove_stale_partials
from streamedit_sdk.io.video import VideoReader, VideoWriter


def _at_frame(monkeypatch, at: int, action) -> None:
    """Call ``action()`` while the edit loop reads frame ``at``."""
    real = edit_file.track

    def track(items, *args, **kwargs):
        for i, item in enumerate(real(items, *args, **kwargs)):
            if i == at:
                action()
            yield item
    monkeypatch.setattr(edit_file, "track", track)


def _interrupted_at(stdout: str) -> int:
    return int(stdout.split("interrupted at frame ")[1].split()[0])


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_frames(face_clip, tmp_path, monkeypatch,
                                                             capfd):
    _at_frame(monkeypatch, 10, lambda: [signal.raise_signal(signal.SIGINT) for _ in range(2)])
    out = tmp_path / "o.mp4"
    assert main(["edit", str(face_clip), "-o", str(out), "--sticker", "star", "-q"]) == 130
    stdout, stderr = capfd.readouterr()  # (the notice is written to fd 2 by the handler)
    n = _interrupted_at(stdout)
    assert 10 <= n <= 12 and frames_in(out) == n
    assert "1 reference (frame 0)" in stdout  # the editor's statistics survive the interrupt
    assert "another signal (SIGINT): stopping at once; o.mp4 keeps the frames" in stderr
    assert partials(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


@pytest.mark.parametrize("during", ["closing the editor", "closing the writer"])
def test_no_signal_interrupts_finishing_the_outputs(face_clip, tmp_path, monkeypatch, capsys,
                                                    during):
    """Signals that arrive while MediaPipe shuts down or the muxer writes the index (where
    the old second Ctrl-C raised KeyboardInterrupt and lost the file) change nothing."""
    _at_frame(monkeypatch, 12, lambda: signal.raise_signal(signal.SIGINT))
    cls = StreamEditor if during == "closing the editor" else VideoWriter
    real_close = cls.close

    def close(self):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
            signal.raise_signal(sig)
        real_close(self)
    monkeypatch.setattr(cls, "close", close)
    out, compare = tmp_path / "o.mp4", tmp_path / "c.mp4"
    assert main(["edit", str(face_clip), "-o", str(out), "--compare", str(compare),
                 "--sticker", "star", "-q"]) == 130
    n = _interrupted_at(capsys.readouterr().out)
    assert frames_in(out) == n == frames_in(compare) and n >= 12
    assert partials(tmp_path) == []


@contextmanager
def _edit_on_a_terminal(src: Path, out: Path, frames: int):
    """``streamedit edit SRC -o OUT --sticker star`` with stdout and stderr on a
    pseudo-terminal, as in a shell; yields (process, the terminal's master side) once its
    progress bar shows ``frames`` frames edited. The master is closed and the process killed
    on the way out (where the test has not done either)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*CLI, "edit", str(src), "-o", str(out), "--sticker", "star"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            close_fds=True)
    os.close(slave)
    terminal = {"master": master}
    try:
        _wait_for_frames(proc, master, frames)
        yield proc, terminal
    finally:
        proc.kill()
        proc.wait()
        if terminal["master"] is not None:
            os.close(terminal["master"])


def _wait_for_frames(proc: subprocess.Popen, master: int, frames: int,
                     timeout: float = 120.0) -> str:
    """Read the terminal until the progress bar shows ``frames`` frames edited."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            continue
        try:
            seen += os.read(master, 4096)
        except OSError:
            break
        counts = re.findall(rb"(\d+)/\d+ ", seen)
        if counts and int(counts[-1]) >= frames:
            return seen.decode(errors="replace")
    raise AssertionError(f"the edit did not reach frame {frames}: {seen[-500:]!r}")


def _drain(master: int) -> str:
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            return out.decode(errors="replace")
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the process closed its side
            return out.decode(errors="replace")
        if not chunk:
            return out.decode(errors="replace")
        out += chunk


@needs_ffmpeg
@pytest.mark.parametrize("second", [0.05, 0.3])
def test_ctrl_c_twice_on_a_running_edit_keeps_a_playable_file(long_clip, tmp_path, second):
    """The real thing: a terminal user presses Ctrl-C twice, ``second`` s apart."""
    out = tmp_path / "o.mp4"
    with _edit_on_a_terminal(long_clip, out, 20) as (proc, terminal):
        proc.send_signal(signal.SIGINT)
        time.sleep(second)
        proc.send_signal(signal.SIGINT)
        text = _drain(terminal["master"])
        status = proc.wait(timeout=60)
    assert status == 130, text[-2000:]
    assert "Traceback" not in text
    n = _interrupted_at(text)
    reader = VideoReader(out)
    assert 20 <= n < 480 and sum(1 for _ in reader) == n and not reader.truncated
    assert reader.info.has_audio
    assert partials(tmp_path) == []


@needs_ffmpeg
def test_sighup_from_a_closed_terminal_keeps_a_playable_file(long_clip, tmp_path):
    """The terminal goes away (its window closed, the ssh session dropped): the kernel sends
    SIGHUP and every later write to the terminal fails. The edit stops as for SIGTERM."""
    out = tmp_path / "o.mp4"
    with _edit_on_a_terminal(long_clip, out, 20) as (proc, terminal):
        os.close(terminal.pop("master"))  # the terminal is gone: later writes fail (EIO)
        terminal["master"] = None
        proc.send_signal(signal.SIGHUP)
        status = proc.wait(timeout=60)
    assert status == 128 + signal.SIGHUP
    reader = VideoReader(out)
    n = sum(1 for _ in reader)
    assert 20 <= n < 480 and not reader.truncated and reader.info.has_audio
    assert partials(tmp_path) == []


@needs_ffmpeg
def test_the_partial_file_of_a_killed_run_is_removed_by_the_next_run(long_clip, face_clip,
                                                                     tmp_path):
    """SIGKILL (or power loss) gives no chance to clean up: the next run to the same output
    removes what the dead run left, and says so."""
    out = tmp_path / "o.mp4"
    with _edit_on_a_terminal(long_clip, out, 10) as (proc, _):
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    left = partials(tmp_path)
    assert left == [f".o.partial-{proc.pid}.mp4"] and not out.exists()
    done = subprocess.run([*CLI, "edit", str(face_clip), "-o", str(out), "--sticker", "star",
                           "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"removed {left[0]}, the partial file of an earlier run" in done.stderr
    assert partials(tmp_path) == [] and frames_in(out) == 40


def _ended_pid() -> int:
    """The PID of a process that has ended."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_a_live_runs_partial_file_is_never_removed(tmp_path):
    out = tmp_path / "o.mp4"
    holder = subprocess.Popen(  # a live run: it holds the lock on its own partial file
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from streamedit_sdk.io.paths import PartialLock, partial_path; "
         "PartialLock(partial_path(Path(sys.argv[1]))); print('held', flush=True); "
         "time.sleep(120)", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        live = tmp_path / f".o.partial-{holder.pid}.mp4"
        stale = tmp_path / f".o.partial-{_ended_pid()}.mp4"
        stale.write_bytes(b"half a video")
        other = tmp_path / f".other.partial-{_ended_pid()}.mp4"  # another output's: not ours
        other.write_bytes(b"half another video")
        unsure = tmp_path / f".o.partial-{os.getppid()}.mp4"  # a live PID, no lock: kept
        unsure.write_bytes(b"?")
        mine = PartialLock(partial_path(out))  # this process's own
        try:
            assert remove_stale_partials(out) == [stale]
        finally:
            mine.release()
            partial_path(out).unlink()
        assert live.exists() and other.exists() and unsure.exists() and not stale.exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_stale_partials(out) == [live]  # its run has ended now


def test_path_of_a_partial_file_names_its_process():
    assert partial_path(Path("/x/clip.mov")) == Path(f"/x/.clip.partial-{os.getpid()}.mov")


def test_a_signal_while_a_whole_video_is_finished_interrupts_nothing(face_clip, tmp_path,
                                                                     monkeypatch, capsys):
    """Every frame was edited when the signal came (the muxer was writing the index): the
    run is complete, not 'interrupted'."""
    real_close = VideoWriter.close

    def close(self):
        signal.raise_signal(signal.SIGINT)
        real_close(self)
    monkeypatch.setattr(VideoWriter, "close", close)
    out = tmp_path / "o.mp4"
    assert main(["edit", str(face_clip), "-o", str(out), "--sticker", "star", "-q"]) == 0
    line = capsys.readouterr().out
    assert "edited 40 frames" in line and "interrupted" not in line
    assert frames_in(out) == 40


def test_a_writer_whose_name_is_taken_keeps_nothing_half_done(face_clip, tmp_path):
    """The finished video cannot take its name (a folder appeared there): a clear error, and
    no partial file left behind to be mistaken for a killed run's."""
    from streamedit_sdk.errors import VideoError

    out = tmp_path / "o.mp4"
    writer = VideoWriter(out, 25)
    for frame in VideoReader(face_clip):
        writer.write(frame)
    out.mkdir()
    with pytest.raises(VideoError, match="could not take that name; nothing was kept"):
        writer.close()
    assert partials(tmp_path) == []
    empty = VideoWriter(tmp_path / "e.mp4", 25)  # no frame: never an empty file
    with pytest.raises(VideoError, match="no frames were written"):
        empty.close()
    assert not (tmp_path / "e.mp4").exists() and partials(tmp_path) == []
