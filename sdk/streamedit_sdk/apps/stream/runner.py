"""The live loop: read frames on a thread, edit and write them in order, report latency.

Policies when editing falls behind the source (``StreamOptions.policy``):

* ``queue`` (default): at most ``queue_size`` frames wait; the reader then blocks, which
  back-pressures a pipe or a file. Every input frame gives one output frame.
* ``drop``: when ``queue_size`` frames wait, the oldest is dropped for the newest (live
  sources: latency stays bounded). Every dropped frame is counted and reported. A sink that
  keeps times (a file, a URL) shows a dropped frame as a gap in time; one that does not (a
  raw pipe, whose reader counts frames) gets the last output frame again in its slot
  (counted as ``repeated``), so the video keeps its length and its clock.

Until a face is seen, frames pass through unedited (counted): the edit is made on the first
frame with a face. An edit of the whole frame (a style, an edited frame) starts without one
after :data:`NO_FACE_HINT_FRAMES` frames, carried by optical flow. SIGINT / SIGTERM / SIGHUP stop reading; the frames already queued are
still edited and written (for at most ``StreamOptions.drain_timeout_s``; any left then are
counted as abandoned) and the output is closed (a file stays playable). A second signal
abandons the queued frames at once; no signal interrupts closing the output. SIGUSR1 prints
the statistics so far on stderr.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterator

import numpy as np

from streamedit_sdk.apps import collector
from streamedit_sdk.apps.signals import StopSignals
from streamedit_sdk.apps.stream.control import EditRequest
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.errors import EditorLost, NoFaceError
from streamedit_sdk.io.streams import RawSource, Sink, Source
from streamedit_sdk.perception.landmarks import LandmarkTracker

log = logging.getLogger(__name__)

POLICIES = ("queue", "drop")
NO_FACE_HINT_FRAMES = 75  # frames without a face after which raw input's --size is doubted
# and an edit of the whole frame starts without a face
_END = object()


@dataclass(frozen=True)
class StreamOptions:
    """How the live loop paces and buffers (checked once)."""

    policy: str = "queue"  # queue: never drop (back-pressure); drop: drop the oldest waiting
    queue_size: int = 4  # frames that may wait between the reader and the editor
    realtime: bool = False  # pace a file source at its frame rate (live sources pace themselves)
    max_frames: int = 0  # stop after this many input frames (0: until the source ends)
    drain_timeout_s: float = 10.0  # at a stop, queued frames are still edited for this long
    freeze_gc: bool = True  # gc.freeze() once the edit starts: the garbage collector's full
    # collections then skip what was loaded (a 110 ms pause otherwise; see collector.py)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {self.policy!r}")
        if not isinstance(self.queue_size, int) or self.queue_size < 1:
            raise ValueError(f"queue_size must be a whole number >= 1; got {self.queue_size!r}")
        if not isinstance(self.max_frames, int) or self.max_frames < 0:
            raise ValueError(f"max_frames must be a whole number >= 0; got {self.max_frames!r}")
        if not self.drain_timeout_s >= 0:
            raise ValueError(f"drain_timeout_s must be >= 0; got {self.drain_timeout_s!r}")


@dataclass
class StreamStats:
    """Counters and per-frame latency (read -> written), seconds."""

    frames_in: int = 0  # frames accepted from the source
    frames_out: int = 0
    dropped: int = 0  # by the drop policy
    repeated: int = 0  # output frames written again in dropped frames' slots (a raw pipe)
    abandoned: int = 0  # queued at a stop but not edited within the drain timeout
    undecodable: int = 0  # frames of the source that could not be decoded (skipped)
    damaged: str | None = None  # which, and when (a file or URL source's own account)
    passed_through: int = 0  # written unedited: no face seen yet (or since the editor was lost)
    restarts: int = 0  # remote editors lost mid-stream (the edit restarted on a new one)
    edit_changes: int = 0  # control requests applied
    references: int = 0  # references the edit has had (the first, ARR's, edit changes)
    face_tracked: bool = False  # the last edited frame's face mesh found the face
    stopped_by: str | None = None  # signal name when one ended the stream
    first_read: float | None = None  # perf_counter when the first frame was read
    last_written: float | None = None  # ... and when the last was written
    latencies: deque = field(default_factory=lambda: deque(maxlen=100_000))

    def summary(self) -> dict:
        """The counters; ``seconds`` and ``fps`` over the time frames flowed (from the first
        frame read to the last written), so a stream that waited for its source, or ended
        long ago, is not reported slower than it ran."""
        lat = np.asarray(self.latencies, np.float64) * 1e3
        seconds = ((self.last_written or time.perf_counter()) - self.first_read
                   if self.first_read is not None else 0.0)
        pct = (lambda q: round(float(np.percentile(lat, q)), 2)) if lat.size else (lambda q: None)
        return {"frames_in": self.frames_in, "frames_out": self.frames_out,
                "dropped": self.dropped, "repeated": self.repeated,
                "abandoned": self.abandoned, "undecodable": self.undecodable,
                "passed_through": self.passed_through,
                "edit_changes": self.edit_changes, "restarts": self.restarts,
                "references": self.references,
                "face_tracked": self.face_tracked, "seconds": round(seconds, 2),
                "fps": round(self.frames_out / seconds, 2) if seconds > 0 else 0.0,
                "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99),
                               "max": round(float(lat.max()), 2) if lat.size else None},
                "stopped_by": self.stopped_by}

    def line(self) -> str:
        s = self.summary()
        lat = s["latency_ms"]
        return (f"streamed {s['frames_out']} of {s['frames_in']} frames in {s['seconds']} s "
                f"({s['fps']} fps); dropped {s['dropped']}"
                + (f" (their slots repeat the last frame: {s['repeated']} repeats)"
                   if s["repeated"] else "") + ", "
                + (f"abandoned at the stop {s['abandoned']}, " if s["abandoned"] else "")
                + f"unedited before a face "
                f"{s['passed_through']}, edit changes {s['edit_changes']}; latency ms p50 "
                f"{lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}"
                + (f"; {self.damaged}" if self.damaged else "")
                + (f"; stopped by {s['stopped_by']}" if s["stopped_by"] else ""))


class StreamRunner:
    """Runs ``source`` through ``editor`` into ``sink`` with ``spec`` as the edit.

    ``control``: an object whose ``poll()`` returns an :class:`EditRequest` or None, asked
    between frames. ``report``: where SIGUSR1 and the end write the statistics line.
    ``follow_mode``: each edit sets the editor's propagation mode to the one its kind wants
    (:meth:`EditSpec.mode_for`: a sticker residual, a style replace, an edited frame by how
    much of the picture it changes); False keeps the editor's (``--mode`` given).
    """

    def __init__(self, source: Source, sink: Sink, editor: StreamEditor, spec: EditSpec,
                 options: StreamOptions | None = None, control=None,
                 report: Callable[[str], None] | None = None, follow_mode: bool = False
                 ) -> None:
        self.source, self.sink, self.editor, self.spec = source, sink, editor, spec
        self.follow_mode = follow_mode
        self.options = options or StreamOptions()
        self.control = control
        self.stats = StreamStats()
        self._report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self._stop = threading.Event()  # no more input: edit what is queued, then end
        self._abandon = threading.Event()  # a second signal: end without the queued frames
        self._keeps_time = getattr(sink, "keeps_time", True)
        self._last_out: np.ndarray | None = None  # for an untimed sink's dropped slots
        self._next_slot = 0  # input index the next output frame of an untimed sink fills
        self._stopped_at = 0.0
        self._done = threading.Event()  # the editor loop has ended
        self._queue: queue.Queue = queue.Queue(self.options.queue_size)
        self._started = False  # the editor has a reference
        self._finder: LandmarkTracker | None = None  # places stickers until the edit starts
        self._usr1 = False

    def stop(self, reason: str | None = None) -> None:
        """Stop reading: the frames already queued are still edited (up to the drain timeout),
        then the loop ends (thread- and signal-safe)."""
        if reason and self.stats.stopped_by is None:
            self.stats.stopped_by = reason
        if not self._stop.is_set():
            self._stopped_at = time.perf_counter()
        self._stop.set()

    def run(self) -> StreamStats:
        """Stream until the source ends, ``max_frames`` or a stop; the sink is closed (no
        signal interrupts that: the output keeps every frame written)."""
        reader = threading.Thread(target=self._read, name="streamedit-reader", daemon=True)
        restore = self._install_usr1()
        reader.start()
        with StopSignals(on_stop=self.stop, on_again=self.abandon,
                         notice="the queued frames are abandoned; the output is being "
                         "closed (a moment)"):
            failing = False
            try:
                self._loop()
            except BaseException:
                failing = True
                raise
            finally:
                self._stop.set()
                self._done.set()
                restore()
                try:
                    self.sink.close()
                except BrokenPipeError:
                    pass
                except Exception as exc:  # noqa: BLE001 - never instead of the first error
                    if not failing:
                        raise
                    log.debug("closing the output after a failure: %s", exc)
                finally:
                    reader.join(timeout=5)
                    self._count_damage()
                    self.source.close()
                    if self._finder is not None:
                        self._finder.close()
                        self._finder = None
        self._report(self.stats.line())
        return self.stats

    def _count_damage(self) -> None:
        """The frames the source could not decode, from its own account (files, URLs)."""
        damage = getattr(self.source, "damage", None)
        if damage is not None and damage.count:
            self.stats.undecodable = damage.count
            self.stats.damaged = damage.describe()

    def abandon(self, reason: str | None = None) -> None:
        """Stop at once: the frames still queued are not edited (counted as abandoned).
        Thread- and signal-safe."""
        self.stop(reason)
        self._abandon.set()

    def _loop(self) -> None:
        while True:
            item = self._next()
            if item is _END:
                return
            try:
                self._edit(*item)
            except BrokenPipeError:  # the reader of our output went away
                log.warning("the output was closed by its reader: the stream ends")
                self.stop("output closed")
                return
            if self._usr1:
                self._usr1 = False
                self._report(self.stats.line())

    # -- reader thread ----------------------------------------------------------------------
    def _read(self) -> None:
        opts = self.options
        fps = self.source.fps
        pace = opts.realtime and not self.source.live and fps
        t0 = time.perf_counter()
        try:  # the end marker goes out whatever the source does
            for i, (frame, seconds) in enumerate(_timed(self.source)):
                if self._stop.is_set() or (opts.max_frames and i >= opts.max_frames):
                    break
                if pace:
                    delay = t0 + i / float(fps) - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                if seconds is None and fps:  # a raw pipe: the input's own clock
                    seconds = Fraction(i) / Fraction(fps)
                now = time.perf_counter()
                if self.stats.first_read is None:
                    self.stats.first_read = now
                if self._put((frame, now, seconds, i)):
                    self.stats.frames_in += 1
        except (OSError, ValueError) as exc:  # a broken pipe, an unreadable source
            log.error("input failed: %s; the stream ends here", exc)
        finally:
            self._put(_END, final=True)

    def _put(self, item, final: bool = False) -> bool:
        """Queue ``item``; False when it was not queued (the stream is stopping). The end
        marker waits for room while the editor drains the queue, never pushing a frame out."""
        if self.options.policy == "drop" and not final:
            while True:
                try:
                    self._queue.put_nowait(item)
                    return True
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self.stats.dropped += 1
                    except queue.Empty:
                        pass
        while not self._done.is_set() and (final or not self._stop.is_set()):
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    # -- editor thread ----------------------------------------------------------------------
    def _next(self):
        """The next queued item; after a stop, what is still queued until the drain timeout,
        then the end (the frames left are counted as abandoned)."""
        while True:
            if self._abandon.is_set():
                self.stats.abandoned += sum(1 for item in _drain(self._queue)
                                            if item is not _END)
                return _END
            if self._stop.is_set():
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    return _END
                late = time.perf_counter() - self._stopped_at > self.options.drain_timeout_s
                if late and item is not _END:
                    self.stats.abandoned += 1 + self._queue.qsize()
                    log.warning("the stop's drain timeout (%.1f s) passed: %d queued frames "
                                "were not edited", self.options.drain_timeout_s,
                                self.stats.abandoned)
                    return _END
                return item
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                continue

    def _edit(self, frame: np.ndarray, t_read: float, seconds: Fraction | None,
              index: int) -> None:
        """Edit input frame ``index`` and write it with its input time ``seconds`` (frames
        dropped before it leave a gap in time, or their slots repeat the last output frame
        on a sink that keeps no times: never a shorter video)."""
        request = self.control.poll() if self.control is not None else None
        if request is not None:
            self._change_edit(request, frame)
        if not self._started:
            self._start(frame)
        out = self._process(frame) if self._started else None
        if out is None:
            out = frame
            self.stats.passed_through += 1
        if not self._keeps_time:
            self._fill_slots(index, out)
        self.sink.write(out, seconds)
        self.stats.frames_out += 1
        self.stats.last_written = time.perf_counter()
        self.stats.latencies.append(self.stats.last_written - t_read)

    def _fill_slots(self, index: int, out: np.ndarray) -> None:
        """Before input frame ``index`` goes to a sink that keeps no times: the slots of the
        frames dropped since the last output get that output again (the first output's, for
        frames dropped before it), as a player holds a frame."""
        held = self._last_out if self._last_out is not None else out
        for _ in range(index - self._next_slot):
            self.sink.write(held, None)
            self.stats.repeated += 1
        self._next_slot = index + 1
        self._last_out = out.copy()  # (the editor may reuse its output's buffer)

    def _process(self, frame: np.ndarray) -> np.ndarray | None:
        """The edited frame; None when the editor was lost (a remote editor's process died):
        the edit then restarts on the next frame that shows a face."""
        try:
            result = self.editor.process(frame)
        except EditorLost as exc:
            log.warning("frame %d: %s; the edit restarts from the next frame with a face",
                        self.stats.frames_out, exc)
            self.stats.restarts += 1
            self._started = False
            return None
        self.stats.face_tracked = result.face_found
        self.stats.references = self.editor.stats.references
        return result.frame

    def _start(self, frame: np.ndarray) -> None:
        if self._finder is None:  # one face mesh for every try until a face shows
            self._finder = LandmarkTracker()
        # a sticker waits for a face; an edit of the whole frame waits a little for one (a
        # reference with a face serves better) and then starts without
        needs_face = self.spec.needs_face or self.stats.passed_through < NO_FACE_HINT_FRAMES
        try:
            edited = self.spec.apply(frame, self._finder)
            self.editor.set_reference(frame, edited, index=self.stats.frames_out,
                                      mode=self._mode(self.spec, frame, edited),
                                      needs_face=needs_face, inpainter=self.spec.inpainter())
        except EditorLost as exc:  # a remote editor died while taking it: the next frame
            log.warning("%s; trying again on the next frame", exc)
            self.stats.restarts += 1
            return
        except NoFaceError:  # not yet: this frame passes through
            if self.stats.passed_through + 1 == NO_FACE_HINT_FRAMES and \
                    isinstance(self.source, RawSource):
                w, h = self.source.size
                log.warning("no face in the first %d frames of the raw input, read as %dx%d: "
                            "if the picture is garbled, --size does not match the sender's "
                            "frame size", NO_FACE_HINT_FRAMES, w, h)
            return
        self._started = True
        self._finder.close()
        self._finder = None
        log.info("frame %d: the edit starts", self.stats.frames_out)
        if self.options.freeze_gc:
            collector.freeze()

    def _change_edit(self, request: EditRequest, frame: np.ndarray) -> None:
        """Switch the edit at this frame boundary; a request that fails leaves it as it was."""
        try:
            reference = request.reference_frame(frame)
            edited = request.spec.apply(reference)
            self.editor.set_reference(reference, edited, index=self.stats.frames_out,
                                      mode=self._mode(request.spec, reference, edited),
                                      inpainter=request.spec.inpainter())
        except (ValueError, OSError) as exc:
            log.error("edit change refused: %s; the edit is unchanged", exc)
            return
        except EditorLost as exc:  # the new edit starts on the next editor's first reference
            log.warning("%s while changing the edit; it starts on the next frame with a face",
                        exc)
            self.stats.restarts += 1
            self._started = False
        else:
            self._started = True
        self.spec = request.spec
        self.stats.edit_changes += 1
        log.info("frame %d: new edit", self.stats.frames_out)

    def _mode(self, spec: EditSpec, reference: np.ndarray, edited: np.ndarray) -> str | None:
        if not self.follow_mode:
            return None
        chosen = spec.mode_for(reference, edited)
        log.info("the %s is %s", spec.label, chosen.describe())
        return chosen.mode

    # -- signals ----------------------------------------------------------------------------
    def _install_usr1(self) -> Callable[[], None]:
        """SIGUSR1 reports the statistics so far; only from the main thread (else nothing)."""
        if threading.current_thread() is not threading.main_thread() or \
                not hasattr(signal, "SIGUSR1"):
            return lambda: None

        def on_usr1(_signum, _frame):
            self._usr1 = True

        previous = signal.signal(signal.SIGUSR1, on_usr1)
        return lambda: signal.signal(signal.SIGUSR1, previous)


def _timed(source: Source) -> Iterator[tuple[np.ndarray, Fraction | None]]:
    """(frame, presentation time in seconds or None) from a source that knows its times
    (``timed()``, as files and URLs do) or not (pipes)."""
    timed = getattr(source, "timed", None)
    if timed is not None:
        yield from timed()
    else:
        for frame in source:
            yield frame, None


def _drain(q: queue.Queue) -> Iterator:
    """Everything waiting in ``q``, taken out."""
    while True:
        try:
            yield q.get_nowait()
        except queue.Empty:
            return
