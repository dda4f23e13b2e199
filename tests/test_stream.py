"""``streamedit stream``: ffmpeg pipes, a UDP loopback, signals, the virtual camera and the
drop policy (the control channel: test_stream_control.py). All traffic stays on 127.0.0.1;
every wait is bounded."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from stream_helpers import ListSink, ListSource, run_stream

import streamedit_sdk as se
from streamedit_sdk import edits
from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.stream import RawSource, StreamOptions, StreamRunner, VirtualCamSink
from streamedit_sdk.cli import main
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.io.video import VideoReader, VideoWriter

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary (apt-get "
                                  "install ffmpeg; .ci/run installs it)")
CLI = [sys.executable, "-m", "streamedit_sdk.cli"]


def _count(path: Path) -> int:
    return sum(1 for _ in VideoReader(path))


def _packets(path: Path) -> int:
    """Video packets in a file, whatever their content (a lossy stream may not decode)."""
    import av

    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def _free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_ffmpeg
def test_between_two_ffmpeg_processes_every_frame_comes_out(clip_file, tmp_path):
    out = tmp_path / "out.mp4"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = (f"{FFMPEG} -loglevel error -i {clip_file} -f rawvideo -pix_fmt rgb24 - | "
           f"{' '.join(CLI)} stream --input - --size 512x512 --output - --style cartoon | "
           f"{FFMPEG} -loglevel error -y -f rawvideo -pix_fmt rgb24 -s 512x512 -r 25 -i - {out}")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                          timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "streamed 24 of 24 frames" in done.stderr
    # nothing from MediaPipe's native side (absl "W0000 00:00:..." lines, TFLite "INFO: ...")
    assert not re.search(r"^[IWEF]\d{4} |TensorFlow Lite|LiteRt", done.stderr, re.M), done.stderr
    assert _count(out) == 24
    got = next(iter(VideoReader(out)))
    want = edits.apply_style("cartoon", next(iter(VideoReader(clip_file))))
    assert np.abs(got.astype(int) - want).mean() < 12  # the edit, through two H.264 passes


@needs_ffmpeg
def test_udp_loopback_in_and_out(clip_file, tmp_path):
    """ffmpeg -> UDP -> streamedit (PyAV in, PyAV out) -> UDP -> ffmpeg -> file."""
    port_in, port_out = _free_port(), _free_port()
    received = tmp_path / "received.ts"
    receiver = subprocess.Popen(
        [FFMPEG, "-loglevel", "error", "-y", "-probesize", "500000", "-analyzeduration",
         "1000000", "-i",
         f"udp://127.0.0.1:{port_out}?timeout=20000000", "-c", "copy", "-f", "mpegts",
         str(received)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    editor = subprocess.Popen(
        CLI + ["stream", "--input", f"udp://127.0.0.1:{port_in}?timeout=20000000",
               "--output", f"udp://127.0.0.1:{port_out}?pkt_size=1316", "--style",
               "teal-orange", "--max-frames", "60"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)  # the editor loads its models and listens before the sender starts
    sender = subprocess.run(
        [FFMPEG, "-loglevel", "error", "-re", "-stream_loop", "4", "-i", str(clip_file),
         "-c:v", "libx264", "-g", "5", "-preset", "ultrafast", "-f", "mpegts",
         f"udp://127.0.0.1:{port_in}?pkt_size=1316"], capture_output=True, timeout=60)
    try:
        _, err = editor.communicate(timeout=90)
        time.sleep(3.0)  # the receiver writes out what it has buffered
    finally:
        editor.kill()
        receiver.send_signal(signal.SIGINT)
        receiver.wait(timeout=30)
    assert sender.returncode == 0
    assert editor.returncode == 0, err[-2000:]
    assert "streamed 60 of 60 frames" in err
    # the receiver got the edited stream (UDP may lose packets: video packets are counted)
    assert _packets(received) >= 30


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_cleanly_and_the_file_plays(clip_file, tmp_path, stop):
    long_clip = tmp_path / "long.mp4"
    with VideoWriter(long_clip, 25) as w:
        for f in synthetic.clip(200)[0]:
            w.write(f)
    out, stats_file = tmp_path / "out.mp4", tmp_path / "stats.json"
    port = _free_port(socket.SOCK_STREAM)
    proc = subprocess.Popen(
        CLI + ["stream", "--input", str(long_clip), "--output", str(out), "--style", "sketch",
               "--realtime", "--control", f"http://127.0.0.1:{port}", "--stats-json",
               str(stats_file)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait, through GET /stats, until frames go out
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=2) as r:
                    if json.load(r)["frames_out"] >= 10:
                        break
            except OSError:
                pass
            time.sleep(0.3)
        proc.send_signal(signal.SIGUSR1)  # statistics so far, and the stream goes on
        time.sleep(1.0)
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + stop, err[-2000:]
    reports = [line for line in err.splitlines() if line.startswith("streamed")]
    assert len(reports) == 2, err[-2000:]  # SIGUSR1's, then the final one
    stats = json.loads(stats_file.read_text())
    assert stats["stopped_by"] == stop.name and 10 <= stats["frames_out"] < 200
    # every frame taken from the source was edited and written: the queue was drained
    assert stats["frames_out"] == stats["frames_in"] and stats["abandoned"] == 0
    assert _count(out) == stats["frames_out"]  # finalised: every written frame plays


def test_drop_policy_counts_every_dropped_frame(frames):
    sink = ListSink(delay=0.05)
    _, stats = run_stream(frames, EditSpec(style="cartoon"), sink=sink,
                    options=StreamOptions(policy="drop", queue_size=1))
    assert stats.dropped > 0
    assert stats.frames_out + stats.dropped == stats.frames_in == len(frames)
    assert len(sink.frames) == stats.frames_out


class RawListSink(ListSink):
    """A sink that keeps no times, as a raw pipe."""

    keeps_time = False


def test_drop_policy_keeps_every_slot_of_a_sink_without_times(frames):
    sink = RawListSink(delay=0.05)
    _, stats = run_stream(frames, EditSpec(style="cartoon"), sink=sink,
                          options=StreamOptions(policy="drop", queue_size=1))
    assert stats.dropped > 0 and stats.repeated == stats.dropped
    assert len(sink.frames) == stats.frames_out + stats.repeated == len(frames)
    assert f"their slots repeat the last frame: {stats.repeated} repeats" in stats.line()


@needs_ffmpeg
def test_drop_into_a_raw_pipe_keeps_the_length_and_the_clock(clip_file, tmp_path):
    """ffmpeg decodes faster than the edit runs, so frames are dropped; the raw pipe's reader
    counts frames, so each dropped frame's slot gets the last output frame again: 96 frames
    in, 96 out, and 3.84 s of video stay 3.84 s (they were 0.70 s of 3 s before)."""
    looped, raw, stats_file = tmp_path / "in.mp4", tmp_path / "out.rgb", tmp_path / "s.json"
    subprocess.run([FFMPEG, "-v", "error", "-stream_loop", "3", "-i", str(clip_file), "-c",
                    "copy", str(looped)], check=True)
    cmd = (f"{FFMPEG} -loglevel error -i {looped} -f rawvideo -pix_fmt rgb24 - | "
           f"{' '.join(CLI)} stream --input - --size 512x512 --output - --style cartoon "
           f"--policy drop --queue 1 --stats-json {stats_file} > {raw}")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads(stats_file.read_text())
    assert stats["frames_in"] == 96 and stats["dropped"] > 0
    assert stats["repeated"] == stats["dropped"]
    out = np.frombuffer(raw.read_bytes(), np.uint8).reshape(-1, 512, 512, 3)
    assert len(out) == 96
    repeats = sum(np.array_equal(a, b) for a, b in zip(out[:-1], out[1:]))
    assert repeats >= stats["repeated"]  # the slots hold the frame before them


def test_queue_policy_loses_nothing_behind_a_slow_sink(frames):
    sink = ListSink(delay=0.02)
    _, stats = run_stream(frames[:12], EditSpec(style="cartoon"), sink=sink,
                    options=StreamOptions(policy="queue", queue_size=1))
    assert stats.dropped == 0 and stats.frames_out == 12 and len(sink.frames) == 12


@pytest.mark.parametrize("timeout, all_written", [(10.0, True), (0.0, False)])
def test_a_stop_drains_the_queue_within_its_timeout(frames, timeout, all_written):
    """A stop while frames wait behind a slow sink: they are still edited and written; with
    no drain time they are counted as abandoned, never lost uncounted."""
    runner = None

    def hook(i):
        if i == 10:
            runner.stop("SIGTERM")
    sink = ListSink(delay=0.05)
    with se.StreamEditor() as editor:
        runner = StreamRunner(ListSource(frames, hook), sink, editor, EditSpec(style="cartoon"),
                              StreamOptions(queue_size=6, drain_timeout_s=timeout),
                              report=lambda line: None)
        stats = runner.run()
    assert stats.stopped_by == "SIGTERM" and stats.frames_in >= 5
    assert stats.frames_out == len(sink.frames)
    assert stats.frames_out + stats.abandoned == stats.frames_in
    assert (stats.abandoned == 0) == all_written


def test_a_second_signal_abandons_the_queue_and_still_closes_the_output(frames):
    """The first signal drains the queue; a second (``abandon``) ends at once: the frames
    still queued are counted as abandoned, the output is closed all the same."""
    runner = None

    def hook(i):
        if i == 10:
            runner.stop("SIGINT")
            runner.abandon("SIGINT")
    sink = ListSink(delay=0.05)
    with se.StreamEditor() as editor:
        runner = StreamRunner(ListSource(frames, hook), sink, editor, EditSpec(style="cartoon"),
                              StreamOptions(queue_size=6), report=lambda line: None)
        stats = runner.run()
    assert stats.stopped_by == "SIGINT" and stats.abandoned > 0 and sink.closed
    assert stats.frames_out == len(sink.frames)
    assert stats.frames_out + stats.abandoned == stats.frames_in


def test_a_file_to_file_stream_keeps_the_audio(clips, tmp_path):
    out = tmp_path / "out.mp4"
    assert main(["stream", "--input", str(clips / "d18.mp4"), "--output", str(out),
                 "--sticker", "star", "--max-frames", "30"]) == 0
    reader = VideoReader(out)
    assert sum(1 for _ in reader) == 30 and reader.info.has_audio


def test_a_sticker_waits_for_a_face_with_one_face_mesh(frames, monkeypatch):
    """Trying frame after frame until a face shows loads one face mesh, not one per frame
    (each load cost time and printed MediaPipe's log lines: 4,208 lines over 600 frames)."""
    from streamedit_sdk.apps.stream import runner as runner_module

    made = []
    real = runner_module.LandmarkTracker

    class Counting(real):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(runner_module, "LandmarkTracker", Counting)
    blank = [np.full_like(frames[0], 90) for _ in range(20)]
    sink, stats = run_stream(blank + list(frames[:4]), EditSpec(sticker="star"))
    assert stats.passed_through == 20 and stats.frames_out == 24
    assert len(made) == 1
    assert np.abs(sink.frames[-1].astype(int) - frames[3]).max() > 100  # the sticker is on


def test_frames_without_a_face_pass_through_until_one_appears(frames):
    blank = [np.full_like(frames[0], 90) for _ in range(5)]
    sink, stats = run_stream(blank + list(frames[:8]), EditSpec(style="cartoon"))
    assert stats.passed_through == 5 and stats.frames_out == 13
    for b, out in zip(blank, sink.frames[:5]):
        np.testing.assert_array_equal(out, b)
    assert np.abs(sink.frames[5].astype(int) - frames[0]).mean() > 5  # edited from here on


class FakeCamera:
    """pyvirtualcam.Camera's interface, recording what it is sent."""

    instances: list = []

    def __init__(self, width, height, fps, fmt=None, device=None):
        self.width, self.height, self.fps, self.device = width, height, fps, "fake0"
        self.sent, self.closed = [], False
        FakeCamera.instances.append(self)

    def send(self, frame):
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.sent.append(frame)

    def close(self):
        self.closed = True


def test_virtual_camera_gets_every_frame(frames):
    from fractions import Fraction

    sink = VirtualCamSink((256, 256), Fraction(25), camera=FakeCamera)
    _, stats = run_stream(frames[:10], EditSpec(style="cartoon"), sink=sink)
    cam = FakeCamera.instances[-1]
    assert len(cam.sent) == stats.frames_out == 10 and cam.closed
    assert cam.sent[0].shape == (256, 256, 3)  # resized to the camera's size


def test_raw_input_keeps_whole_frames_only():
    w, h = 4, 3
    data = np.arange(w * h * 3 * 2 + 7, dtype=np.uint8).tobytes()  # 2 frames and a bit
    source = RawSource(io.BytesIO(data), (w, h))
    got = list(source)
    assert len(got) == 2 and got[1].shape == (h, w, 3) and source.partial == 7


@pytest.mark.parametrize("given, warned", [((500, 512), True), ((512, 512), False)])
def test_raw_input_of_the_wrong_size_is_pointed_out(frames, caplog, given, warned):
    """512x512 frames read as 500x512 are garbage without a face: after a few seconds the
    log says that --size may be wrong; read at their real size they are edited."""
    from streamedit_sdk.apps.stream.runner import NO_FACE_HINT_FRAMES

    data = b"".join(f.tobytes() for f in (frames * 4)[:NO_FACE_HINT_FRAMES + 2])
    source = RawSource(io.BytesIO(data), given)
    with se.StreamEditor() as editor:
        stats = StreamRunner(source, ListSink(), editor, EditSpec(style="cartoon"),
                             report=lambda line: None).run()
    assert ("--size does not match" in caplog.text) == warned
    assert (stats.passed_through > 0) == warned


@pytest.mark.parametrize("args, message", [
    (["--input", "-", "--output", "-"], "needs --size"),
    (["--input", "INPUT", "--output", "ftp://127.0.0.1/x"], "no container known"),
    (["--input", "INPUT", "--output", "o.mp4", "--control", "http://example.com:80"],
     "--control-token"),
    (["--input", "INPUT", "--output", "o.mp4", "--control", "http://0.0.0.0:8765",
      "--control-token", "short"], "at least 16"),
    (["--input", "INPUT", "--output", "o.mp4", "--control-token", "a-control-token-24-chars"],
     "give --control http://HOST:PORT"),
    (["--input", "/no/such.mp4", "--output", "o.mp4"], "does not exist"),
])
def test_cli_errors(clip_file, tmp_path, capsys, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["stream", "--style", "cartoon"] + [str(clip_file) if a == "INPUT" else a
                                                     for a in args])
    assert code == 2 and message in capsys.readouterr().err


def test_a_closed_output_ends_the_stream_cleanly(frames):
    class ClosingSink(ListSink):
        def write(self, rgb, seconds=None):
            if len(self.frames) == 3:
                raise BrokenPipeError("reader gone")
            super().write(rgb)

    sink, stats = run_stream(frames, EditSpec(style="cartoon"), sink=ClosingSink())
    assert len(sink.frames) == 3 and stats.stopped_by == "output closed" and sink.closed


def test_a_style_starts_without_a_face_when_none_shows(frames):
    """A sticker waits for a face; a style waits NO_FACE_HINT_FRAMES frames for one, then
    starts on a frame without a face (carried by optical flow), not unedited for ever."""
    from streamedit_sdk.apps.stream.runner import NO_FACE_HINT_FRAMES

    import skimage.data
    coffee = skimage.data.coffee()
    faceless = [np.ascontiguousarray(coffee[40 + k: 240 + k, 60 + 2 * k: 316 + 2 * k])
                for k in range(NO_FACE_HINT_FRAMES + 10)]
    sink, stats = run_stream(faceless, EditSpec(style="cartoon"))
    assert stats.passed_through == NO_FACE_HINT_FRAMES and stats.frames_out == len(faceless)
    last = faceless[-1].astype(int)
    assert np.abs(sink.frames[-1].astype(int) - last).mean() > 8  # edited
    _, waiting = run_stream(faceless[:20], EditSpec(sticker="star"))
    assert waiting.passed_through == 20


def test_a_long_stretch_without_a_face_and_the_face_comes_back(frames):
    blank = np.full_like(frames[0], 90)
    stream = list(frames[:4]) + [blank] * 40 + list(frames[4:8])
    with se.StreamEditor(se.EditorConfig(replacement=se.ReplacementConfig(enabled=False))) as ed:
        ed.set_reference(frames[0], edits.apply_style("cartoon", frames[0]))
        results = list(ed.stream(stream))
        assert ed.stats.faces_lost == 40 and ed.stats.frames == 48
    assert [r.face_found for r in results] == [True] * 4 + [False] * 40 + [True] * 4
    for f, r in zip(stream[-4:], results[-4:]):  # edited again once the face is back
        assert np.abs(r.frame.astype(int) - f).mean() > 5


def test_truncated_and_empty_inputs(frames, tmp_path, capsys):
    full = tmp_path / "full.ts"  # MPEG-TS: a cut file still starts with decodable frames
    with VideoWriter(full, 25) as w:
        for f in frames:
            w.write(f)
    cut = tmp_path / "cut.ts"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out.mp4"
    code = main(["stream", "--input", str(cut), "--output", str(out), "--style", "cartoon"])
    err = capsys.readouterr().err
    assert code == 0, err
    stats_line = next(line for line in err.splitlines() if line.startswith("streamed"))
    n = int(stats_line.split()[1])
    assert 0 < n < 24 and _count(out) == n  # the good frames, each out once
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["stream", "--input", str(empty), "--output", str(out), "--style",
                 "cartoon"]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_the_end_marker_never_pushes_a_waiting_frame_out(frames):
    """The reader's end marker waits for room while the editor is still draining the queue
    (under the drop policy too): a frame already waiting is edited, not lost uncounted."""
    import threading

    from streamedit_sdk.apps.stream.runner import _END

    with se.StreamEditor() as editor:
        runner = StreamRunner(ListSource(frames[:1]), ListSink(), editor,
                              EditSpec(style="cartoon"), StreamOptions(policy="drop",
                                                                       queue_size=1))
        runner._put((frames[0], 0.0))  # a frame waits; the queue is full
        end = threading.Thread(target=runner._put, args=(_END,), kwargs={"final": True})
        end.start()
        time.sleep(0.5)  # longer than the marker's put timeout
        first = runner._queue.get(timeout=1)
        end.join(timeout=5)
        assert first is not _END and first[0] is frames[0]
        assert runner._queue.get(timeout=1) is _END and runner.stats.dropped == 0


@pytest.mark.parametrize("freeze", [True, False])
def test_the_collector_is_frozen_once_the_edit_starts(frames, monkeypatch, freeze):
    from streamedit_sdk.apps import collector

    calls = []
    monkeypatch.setattr(collector, "freeze", lambda: calls.append(1) or 0)
    blank = [np.full_like(frames[0], 90) for _ in range(2)]
    _, stats = run_stream(blank + list(frames[:4]), EditSpec(style="cartoon"),
                    options=StreamOptions(freeze_gc=freeze))
    assert stats.frames_out == 6 and calls == ([1] if freeze else [])


def test_soak_watches_the_low_latency_workers(tmp_path, capsys):
    from streamedit_sdk.cli import main

    out = tmp_path / "soak.json"
    assert main(["soak", "--frames", "70", "--checkpoint", "35", "--size", "128x96",
                 "--low-latency", "-q", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["frames"] == 70 and result["low_latency"] is True
    assert result["stream"]["frames_out"] == 70
    assert result["fd_growth"] <= 0 and result["thread_growth"] <= 0
    # the editor's workers (lookahead, reference) are gone once it is closed
    assert result["after_close"]["threads"] <= result["before"]["threads"] + 1
    assert "soak: 70 frames at 128x96" in capsys.readouterr().out


@needs_ffmpeg
def test_a_silent_live_input_ends_after_the_read_timeout(clip_file, tmp_path):
    """A UDP sender stops: the stream ends --read-timeout seconds later, logged as the end
    of the input (not as a decoding failure), with every received frame written."""
    port = _free_port()
    out = tmp_path / "out.mp4"
    editor = subprocess.Popen(
        CLI + ["-v", "stream", "--input", f"udp://127.0.0.1:{port}", "--output", str(out),
               "--style", "sketch", "--read-timeout", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3.0)  # the editor loads its models and listens before the sender starts
        sender = subprocess.run(
            [FFMPEG, "-loglevel", "error", "-re", "-i", str(clip_file), "-c:v", "libx264",
             "-g", "5", "-preset", "ultrafast", "-f", "mpegts",
             f"udp://127.0.0.1:{port}?pkt_size=1316"], capture_output=True, timeout=60)
        silent_since = time.monotonic()
        _, err = editor.communicate(timeout=60)
        waited = time.monotonic() - silent_since
    finally:
        editor.kill()
    assert sender.returncode == 0
    assert editor.returncode == 0, err[-2000:]
    assert "no data for 2 s: the input has ended" in err
    assert "decoding stopped" not in err and "Immediate exit" not in err
    assert waited < 30
    stats_line = [line for line in err.splitlines() if line.startswith("streamed")][-1]
    n = int(stats_line.split()[1])
    assert n >= 10 and _count(out) == n
