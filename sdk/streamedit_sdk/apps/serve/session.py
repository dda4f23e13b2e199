"""One browser stream: its frames in, its own editor on its own thread, its frames out.

:class:`StreamSession` runs the live loop of ``streamedit stream``
(:class:`~streamedit_sdk.apps.stream.StreamRunner`, drop policy, one waiting frame) between a
:class:`FrameFeed` (the browser's frames, as the runner's source) and an :class:`EditedTrack`
(the aiortc track the browser plays), so a stream keeps every rule of ``stream``: the first
frame that shows a face becomes the reference, an edit changes between two frames, and a
slow stream drops its own frames (counted) without delaying any other.

The page may stamp each frame: its bottom ``probe_rows`` rows carry the frame's number (the
page measures end-to-end latency with it). Those rows are cut off before editing and put back
unchanged on the edited frame. Views of the stream (an OBS browser source:
:class:`ViewTrack`) get the edited picture alone, without the stamp.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import tempfile
import threading
import time
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Union

import av
import cv2
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from streamedit_sdk.apps.stream.control import EditRequest, RequestQueue
from streamedit_sdk.apps.stream.runner import StreamOptions, StreamRunner
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits.spec import EditSpec

if TYPE_CHECKING:
    from streamedit_sdk.apps.serve.cluster import RemoteEditor

log = logging.getLogger(__name__)

Editor = Union[StreamEditor, "RemoteEditor"]  # what a session edits with (duck-typed)
FEED_BACKLOG = 2  # browser frames waiting for the runner's reader (it takes them at once)
OUT_BACKLOG = 2  # edited frames waiting for the encoder; older ones are dropped (late)
MAX_PROBE_ROWS = 64  # largest stamp strip a page may ask for
_STAMPS_KEPT = 64  # frames whose stamp waits for the edited frame


class FrameFeed:
    """The runner's source: the browser's frames (aiortc ``av.VideoFrame``), converted to RGB
    on the runner's reader thread. ``push`` (event loop) never blocks: beyond
    :data:`FEED_BACKLOG` waiting frames the oldest is dropped (``dropped``)."""

    live = True
    fps = None

    def __init__(self, probe_rows: int = 0) -> None:
        if not 0 <= probe_rows <= MAX_PROBE_ROWS:
            raise ValueError(f"probe_rows must be 0..{MAX_PROBE_ROWS}; got {probe_rows}")
        self.probe_rows = probe_rows
        self.received = 0  # frames from the browser
        self.last_arrival: float | None = None  # time.monotonic() of the newest frame
        self.dropped = 0  # dropped here (the runner counts its own)
        self.last: np.ndarray | None = None  # the newest frame, unstamped (H, W, 3) uint8 RGB
        self._queue: queue.Queue = queue.Queue()
        self._stamps: OrderedDict[Fraction, tuple[int, Fraction, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def push(self, frame: av.VideoFrame) -> None:
        self.received += 1
        self.last_arrival = time.monotonic()
        while self._queue.qsize() >= FEED_BACKLOG:
            try:
                self._queue.get_nowait()
                self.dropped += 1
            except queue.Empty:
                break
        self._queue.put_nowait(frame)

    def end(self) -> None:
        """No more frames: the runner finishes the frame it holds and stops."""
        self._queue.put_nowait(None)

    def timed(self) -> Iterator[tuple[np.ndarray, Fraction]]:
        """(frame without its stamp, presentation time in seconds) until :meth:`end`."""
        count = 0
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            rgb = frame.to_ndarray(format="rgb24")
            rows = self.probe_rows if rgb.shape[0] > 4 * self.probe_rows else 0
            body = np.ascontiguousarray(rgb[:rgb.shape[0] - rows])
            time_base = frame.time_base or Fraction(1, 90000)
            pts = frame.pts if frame.pts is not None else count
            seconds = Fraction(pts) * time_base
            with self._lock:
                self._stamps[seconds] = (pts, time_base, rgb[rgb.shape[0] - rows:].copy())
                while len(self._stamps) > _STAMPS_KEPT:
                    self._stamps.popitem(last=False)
            self.last = body
            count += 1
            yield body, seconds

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame, _ in self.timed():
            yield frame

    def stamp(self, seconds: Fraction) -> tuple[int, Fraction, np.ndarray] | None:
        """(pts, time base, stamp rows) of the frame at ``seconds``, taken once."""
        with self._lock:
            return self._stamps.pop(seconds, None)

    def close(self) -> None:
        self.end()


class EditedTrack(MediaStreamTrack):
    """The edited video the browser plays (aiortc pulls it with :meth:`recv`)."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.late = 0  # edited frames dropped because the encoder had not taken the last ones
        self._frames: asyncio.Queue = asyncio.Queue()

    def deliver(self, frame: av.VideoFrame | None) -> None:
        """Queue an edited frame (None: the stream ended); event-loop thread only."""
        if frame is not None:
            while self._frames.qsize() >= OUT_BACKLOG:
                self._frames.get_nowait()
                self.late += 1
        self._frames.put_nowait(frame)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._frames.get()
        if frame is None:
            self.stop()
            raise MediaStreamError
        return frame


class ViewTrack(EditedTrack):
    """The edited picture alone, without the page's stamp rows: what a view of the stream
    (an OBS browser source) plays. Only the newest frame waits (a view shows now, not late)."""

    def deliver(self, frame: av.VideoFrame | None) -> None:
        if frame is not None:
            while not self._frames.empty():
                self._frames.get_nowait()
        self._frames.put_nowait(frame)


class TrackSink:
    """The runner's sink: each edited frame, its stamp put back, to the :class:`EditedTrack`
    on the event loop, with the browser frame's own timestamp; and the picture alone to the
    views, when there are any."""

    keeps_time = True  # (the browser frame's own timestamps go with each frame)

    def __init__(self, feed: FrameFeed, track: EditedTrack, views: set[ViewTrack],
                 loop: asyncio.AbstractEventLoop) -> None:
        self._feed, self._track, self._views, self._loop = feed, track, views, loop

    def write(self, rgb: np.ndarray, seconds: Fraction | None = None) -> None:
        stamp = None if seconds is None else self._feed.stamp(seconds)
        if self._views:
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if stamp is not None:
                picture.pts, picture.time_base = stamp[0], stamp[1]
            self._send(self._to_views, picture)
        if stamp is not None and stamp[2].shape[0] and stamp[2].shape[1] == rgb.shape[1]:
            rgb = np.concatenate([rgb, stamp[2]])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        if stamp is not None:
            frame.pts, frame.time_base = stamp[0], stamp[1]
        self._send(self._track.deliver, frame)

    def close(self) -> None:
        self._send(self._track.deliver, None)
        self._send(self._to_views, None)

    def _to_views(self, frame: av.VideoFrame | None) -> None:
        for view in list(self._views):  # (event-loop thread: the set changes there only)
            view.deliver(frame)

    def _send(self, deliver: Callable, frame: av.VideoFrame | None) -> None:
        try:
            self._loop.call_soon_threadsafe(deliver, frame)
        except RuntimeError:  # the event loop has closed: nobody is watching any more
            pass


class StreamSession:
    """One connection's editing: start with :meth:`start`, change the edit with :meth:`edit`
    or :meth:`edit_image`, end with :meth:`close` (releases the editor, its thread and its
    files)."""

    def __init__(self, sid: str, make_editor: Callable[[], Editor], spec: EditSpec,
                 probe_rows: int, loop: asyncio.AbstractEventLoop, number: int = 0) -> None:
        """``make_editor``: the stream's editor, made (and closed) on the session's thread:
        a :class:`StreamEditor`, or a :class:`~.cluster.RemoteEditor` on a Ray actor.
        ``number``: the stream's public number (its id is its secret)."""
        self.id = sid
        self.number = number
        self.feed = FrameFeed(probe_rows)
        self.track = EditedTrack()
        self.views: set[ViewTrack] = set()  # the picture alone, for views (event loop only)
        self.opened = time.monotonic()
        self.connected: float | None = None  # time.monotonic() when the browser's connection
        # came up (ICE and DTLS); None before
        self.ended_by: str | None = None  # why the stream ended
        self.report: dict = {}  # the page's own measurements (latency in the browser, ...)
        self._make_editor, self._spec, self._loop = make_editor, spec, loop
        self._requests = RequestQueue()
        self._runner: StreamRunner | None = None
        self._failed: str | None = None
        self._files = tempfile.TemporaryDirectory(prefix=f"streamedit-serve-{sid}-")
        self._grabbed: np.ndarray | None = None  # the frame an uploaded edit is of
        self._uploads = itertools.count()
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"streamedit-serve-{sid}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        sink = TrackSink(self.feed, self.track, self.views, self._loop)
        options = StreamOptions(policy="drop", queue_size=1, drain_timeout_s=0.0,
                                freeze_gc=False)  # gc.freeze is process-wide: not per stream
        try:
            with self._make_editor() as editor:
                self._runner = StreamRunner(self.feed, sink, editor, self._spec, options,
                                            control=self._requests, follow_mode=True,
                                            report=lambda line: log.debug("stream %d: %s",
                                                                          self.number, line))
                self._runner.run()
        except (RuntimeError, ValueError, OSError) as exc:  # the editor could not start
            self._failed = str(exc)
            log.error("stream %d failed: %s", self.number, exc)
            sink.close()
        finally:
            self._ended.set()

    def edit(self, spec: EditSpec) -> None:
        """A new edit from the next frame on (the frame then being edited is its reference)."""
        self._requests.put(EditRequest(spec))

    def grab(self) -> np.ndarray | None:
        """The newest frame (H, W, 3) uint8 RGB, unedited, kept as the frame an uploaded edit
        belongs to (:meth:`edit_image`). None before the first frame."""
        frame = self.feed.last
        if frame is not None:
            self._grabbed = frame
        return frame

    @property
    def grabbed(self) -> np.ndarray | None:
        """The frame the page downloaded last (:meth:`grab`), which an upload must edit."""
        return self._grabbed

    def edit_image(self, edited: np.ndarray) -> None:
        """The user's edit (H, W, 3) uint8 RGB of the grabbed frame as the new edit, from
        the next frame on. ValueError when no frame was grabbed or the sizes differ."""
        reference = self._grabbed
        if reference is None:
            raise ValueError("grab a frame first (GET /session/ID/frame.png), edit it, and "
                             "upload the edited image")
        if edited.shape != reference.shape:
            raise ValueError(f"the edited image is {edited.shape[1]}x{edited.shape[0]} but the "
                             f"grabbed frame is {reference.shape[1]}x{reference.shape[0]}: edit "
                             "the grabbed frame without resizing it")
        n = next(self._uploads)
        folder = Path(self._files.name)
        ref_path, edit_path = folder / f"reference-{n}.png", folder / f"edited-{n}.png"
        _write_png(ref_path, reference)
        _write_png(edit_path, edited)
        self._requests.put(EditRequest(EditSpec(edited_ref=edit_path), reference=ref_path))

    @property
    def edit_label(self) -> str:
        """The edit in use, in a few words (``style cartoon``, ``edited frame``)."""
        runner = self._runner
        return (runner.spec if runner is not None else self._spec).label

    def stats(self) -> dict:
        """Counters: frames from the browser (``frames_in``) = edited + passed through
        (before a face showed) + dropped + in flight; the editor's references and face;
        ``fps`` over the time frames were edited. The secret ``id`` is not in it."""
        runner = self._runner
        s = runner.stats.summary() if runner is not None else {}
        dropped = self.feed.dropped + s.get("dropped", 0)
        out = s.get("frames_out", 0)
        return {"stream": self.number, "edit": self.edit_label,
                "seconds": round(time.monotonic() - self.opened, 2),
                "ended_by": self.ended_by, "views": len(self.views),
                "live_seconds": s.get("seconds", 0.0),  # from the first frame to the last
                "frames_in": self.feed.received,
                "frames_edited": out - s.get("passed_through", 0),
                "passed_through": s.get("passed_through", 0), "dropped": dropped,
                "abandoned": s.get("abandoned", 0), "late": self.track.late,
                "fps": s.get("fps", 0.0), "latency_ms": s.get("latency_ms"),
                "references": s.get("references", 0), "face_tracked": s.get("face_tracked"),
                "edit_changes": s.get("edit_changes", 0), "restarts": s.get("restarts", 0),
                "ended": self._ended.is_set(),
                "error": self._failed, "browser": self.report}

    def close(self, timeout: float = 10.0) -> None:
        """End the stream: the runner finishes its frame, the editor and files are released."""
        self.feed.end()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.track.stop()
        for view in list(self.views):
            view.stop()
        self._files.cleanup()


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
