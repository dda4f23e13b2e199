"""Video files in and out (PyAV): RGB uint8 frames, exact frame count, audio copied through."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from streamedit_sdk.errors import VideoError
from streamedit_sdk.io.paths import (PartialLock, check_video_output, is_file_target,
                                     partial_path, remove_stale_partials)

log = logging.getLogger(__name__)

PIX_FMTS = ("yuv420p", "yuv444p")  # what VideoWriter encodes: 4:2:0 plays everywhere
TIMED_BASE = Fraction(1, 90_000)  # the video time base when frames come with their times


def load_av():
    try:
        import av
    except ImportError as exc:
        raise ImportError("video files need PyAV: pip install av") from exc
    return av


def ffmpeg_reason(exc: Exception) -> str:
    """What an FFmpeg error says, without PyAV's ``[Errno 1094995529]`` prefix and path."""
    return getattr(exc, "strerror", None) or str(exc)


def check_input_file(path: Path, what: str = "input video") -> None:
    """Raise :class:`VideoError` unless ``path`` is a file (a folder or a missing path is
    named as such)."""
    if path.is_dir():
        raise VideoError(f"{what} {path} is a folder, not a video file: give the video's "
                         "path")
    if not path.is_file():
        raise VideoError(f"{what} {path} does not exist")


@dataclass
class Damage:
    """Frames of a video stream that could not be decoded and were skipped (zeroed or
    overwritten bytes, a bad sector): decoding goes on after them, as players do.

    Which frames are missing is known exactly at the end of the stream: the packets' times
    that no decoded frame took (a decoder with frame threads reports an error a few packets
    after the one that failed, so the failing packet's own time would be late)."""

    errors: int = 0  # packets the decoder refused
    reason: str = ""  # FFmpeg's word for the first
    _outstanding: dict = field(default_factory=dict)  # pts -> seconds: packets not yet decoded
    _failed: list = field(default_factory=list)  # seconds of the refused packets (fallback)
    _untimed: bool = False  # some packet or frame had no time: count the errors instead

    def packet(self, packet) -> None:
        if not packet.size:
            return
        if packet.pts is None or packet.time_base is None:
            self._untimed = True
        else:
            self._outstanding[packet.pts] = float(packet.pts * packet.time_base)

    def frame(self, frame) -> None:
        if frame.pts is None:
            self._untimed = True
        else:
            self._outstanding.pop(frame.pts, None)

    def error(self, packet, reason: str) -> float | None:
        """A packet the decoder refused; its time in seconds (None: unknown)."""
        self.errors += 1
        self.reason = self.reason or reason
        sec = (float(packet.pts * packet.time_base)
               if packet.pts is not None and packet.time_base is not None else None)
        self._failed.append(sec)
        return sec

    def missing(self) -> list:
        """Seconds of the frames that never came out of the decoder (once the stream has
        been read to its end), in order; None entries where times are unknown."""
        if self._untimed or not self.errors:
            return sorted(self._failed, key=lambda t: (t is None, t or 0.0))
        return sorted(self._outstanding.values())

    @property
    def count(self) -> int:
        return len(self.missing()) if self.errors else 0

    def places(self, gap: float = 0.15) -> list[tuple[int, float | None, float | None]]:
        """Runs of missing frames less than ``gap`` s apart: (frames, first s, last s)."""
        runs: list[list] = []
        for t in self.missing():
            if runs and t is not None and runs[-1][2] is not None and t - runs[-1][2] < gap:
                runs[-1][0] += 1
                runs[-1][2] = t
            else:
                runs.append([1, t, t])
        return [tuple(r) for r in runs]

    def describe(self) -> str:
        """``3 frames could not be decoded and were skipped (at 1.97-2.13 s)``."""
        places = self.places()
        parts = []
        for n, first, last in places[:3]:
            when = ("at an unknown time" if first is None else f"at {first:.2f} s"
                    if last == first else f"at {first:.2f}-{last:.2f} s")
            parts.append(when + (f": {n}" if len(places) > 1 else ""))
        if len(places) > 3:
            parts.append(f"{len(places) - 3} more places")
        n = self.count
        return (f"{n} frame{'' if n == 1 else 's'} could not be decoded and "
                f"{'was' if n == 1 else 'were'} skipped ({'; '.join(parts)})")


def decode_video(container, stream, damage: Damage) -> Iterator:
    """The decoded frames of ``stream``, packet by packet: a packet the decoder refuses is
    recorded in ``damage`` and skipped, and decoding goes on with the next one (so a file
    with a damaged stretch keeps every frame FFmpeg can decode, as ``ffprobe -count_frames``
    counts them). Errors of the demuxer itself (a file that ends, a source that times out)
    are raised."""
    av = load_av()
    for packet in container.demux(stream):
        damage.packet(packet)
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            sec = damage.error(packet, ffmpeg_reason(exc))
            if damage.errors == 1:
                log.warning("%s: a damaged packet (%s) near %s could not be decoded: skipped, "
                            "decoding goes on", getattr(container, "name", "video"),
                            ffmpeg_reason(exc), "?" if sec is None else f"{sec:.2f} s")
            continue
        for frame in frames:
            damage.frame(frame)
            yield frame


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream."""

    path: Path
    width: int  # as displayed (after the display rotation)
    height: int
    fps: Fraction  # average frame rate
    frames: int  # frame count from the container header; 0 when it does not say
    has_audio: bool
    rotation: int = 0  # degrees (0, 90, 180, 270) the stored picture is turned counterclockwise
    # for display (the display matrix); the reader's frames are already turned


def quarter_turns(frame) -> int:
    """How many times np.rot90 turns a decoded PyAV frame upright, from its display matrix
    (a phone's portrait video is stored landscape with a rotation), 0..3."""
    degrees = getattr(frame, "rotation", 0) or 0
    return int(round(degrees / 90.0)) % 4


def upright(frame, turns: int) -> np.ndarray:
    """A decoded PyAV frame as C-contiguous RGB uint8 (H, W, 3), turned as displayed."""
    rgb = frame.to_ndarray(format="rgb24")  # (rows of widths like 844 come padded: strided)
    if turns:
        rgb = np.rot90(rgb, turns)
    return np.ascontiguousarray(rgb)


def frame_seconds(frame) -> Fraction | None:
    """A decoded frame's presentation time in seconds, or None when the stream has none."""
    if frame.pts is None or frame.time_base is None:
        return None
    return Fraction(frame.pts) * Fraction(frame.time_base)


class VideoReader:
    """Decode a video file into RGB uint8 (H, W, 3) frames.

    Raises :class:`VideoError` when the file is missing, is not a video or has no video stream.
    A packet that cannot be decoded (damaged bytes) is skipped and decoding goes on
    (:func:`decode_video`; ``damage`` counts them and says where). A file that ends early
    stops at the last good frame with a warning, as does one that decodes fewer frames than
    its header lists (an index at the front, ``+faststart``, survives a cut); ``truncated``
    tells afterwards. Frames come as the
    video is displayed: a display rotation (phone videos) is applied. :meth:`timed` also gives
    each frame's presentation time (variable frame rates keep their timing).
    """

    def __init__(self, path: str | Path) -> None:
        av = load_av()
        self.path = Path(path)
        check_input_file(self.path)
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as exc:
            raise VideoError(f"cannot read {self.path} as a video ({ffmpeg_reason(exc)}): is "
                             "it a video file, and complete? (a copy or download that did "
                             "not finish can lack the index a player needs)") from exc
        try:
            if not container.streams.video:
                raise VideoError(f"{self.path} holds no video stream")
            vs = container.streams.video[0]
            fps = vs.average_rate or vs.guessed_rate or Fraction(25)
            turns = self._first_turns(container)
            w, h = vs.codec_context.width, vs.codec_context.height
            if turns % 2:
                w, h = h, w
            self.info = VideoInfo(self.path, w, h, Fraction(fps), int(vs.frames or 0),
                                  bool(container.streams.audio), turns * 90)
        finally:
            container.close()
        self._turns = turns
        if turns:
            log.info("%s is displayed rotated by %d degrees: its frames are turned upright",
                     self.path, self.info.rotation)
        self.truncated = False
        self.damage = Damage()

    @staticmethod
    def _first_turns(container) -> int:
        av = load_av()
        try:
            for frame in container.decode(video=0):
                return quarter_turns(frame)
        except av.error.FFmpegError:
            pass
        return 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for rgb, _ in self.timed():
            yield rgb

    def timed(self) -> Iterator[tuple[np.ndarray, Fraction | None]]:
        """Each frame, upright, with its presentation time in seconds (None if unknown)."""
        av = load_av()
        self.truncated = False
        self.damage = Damage()
        count = 0
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for frame in decode_video(container, stream, self.damage):
                    yield upright(frame, self._turns), frame_seconds(frame)
                    count += 1
            except av.error.FFmpegError as exc:
                self.truncated = True
                log.warning("%s: reading stopped early (%s); the frames before it are kept",
                            self.path, ffmpeg_reason(exc))
                return
        if self.info.frames and count + self.damage.count < self.info.frames:
            # an index written at the front (+faststart) outlives a cut: the data just ends
            self.truncated = True
            log.warning("%s: its header lists %d frames but only %d could be decoded: the "
                        "file looks truncated; the %d frames are kept", self.path,
                        self.info.frames, count, count)

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based), decoded from the start."""
        if index < 0:
            raise VideoError(f"frame index must be >= 0, got {index}")
        count = 0
        for count, rgb in enumerate(self, start=1):
            if count - 1 == index:
                return rgb
        if count == 0:
            raise VideoError(f"{self.path} holds no decodable video frames")
        raise VideoError(f"{self.path} has no frame {index}: it holds {count} frames")


class VideoWriter:
    """Encode RGB uint8 frames to H.264 (libx264), copying the audio of ``audio_from``.

    The size is set by the first frame; a later frame of another size is resized to it (and
    logged once). ``pix_fmt`` "yuv420p" (default: what every player takes) needs even sizes:
    an odd width or height is padded by one edge-replicated pixel (511x333 is written as
    512x334, logged); "yuv444p" keeps any size exactly (High 4:4:4, which many players refuse).
    Audio packets are
    copied without re-encoding and interleaved with the video by time; audio past the last
    video frame is kept up to the video's end.

    A file is written under a hidden temporary name in its folder (:func:`partial_path`),
    locked while this writer lives (:class:`PartialLock`), and renamed to ``path`` by
    :meth:`close` once it is complete and playable; :meth:`abort` removes it instead, leaving
    whatever was at ``path`` untouched. Partial files of ``path`` that killed runs left behind
    are removed when the writer opens (``removed_partials``; a live run's never). The output's
    streams keep the order of ``audio_from``'s (video first when it had video first).
    """

    def __init__(self, path: str | Path, fps: Fraction | float, *,
                 audio_from: str | Path | None = None, crf: int = 18,
                 format: str | None = None, live: bool = False,
                 pix_fmt: str = "yuv420p") -> None:
        """``path``: a file, or a URL FFmpeg writes to (udp://, srt://, rtmp://: give
        ``format``, e.g. mpegts or flv); ``live``: encode for low latency (no B-frames,
        x264 zerolatency)."""
        av = load_av()
        target = str(path)
        self.target = target  # as given (a URL keeps its '//', which Path folds)
        self.path = Path(path)
        self._partial: Path | None = None
        self._lock: PartialLock | None = None
        self.removed_partials: list[Path] = []
        if is_file_target(target):
            if format is None:
                check_video_output("output", self.path)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise VideoError(f"cannot create the folder {self.path.parent} "
                                 f"({exc.strerror}): choose another output") from exc
            self.removed_partials = remove_stale_partials(self.path)
            for stale in self.removed_partials:
                log.warning("removed %s, the partial file of an earlier run to %s that was "
                            "killed before it could finish", stale.name, self.path.name)
            self._partial = partial_path(self.path)
            self._lock = PartialLock(self._partial)
            target = str(self._partial)
        self._fps = Fraction(fps).limit_denominator(100000)
        try:
            self._container = av.open(target, "w", format=format)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            self._drop_partial()
            raise VideoError(f"cannot open {path} for writing ({ffmpeg_reason(exc)})") from exc
        self._live = live
        self._crf = crf
        self._video = None
        if pix_fmt not in PIX_FMTS:
            raise ValueError(f"pix_fmt must be one of {', '.join(PIX_FMTS)}; got {pix_fmt!r}")
        self._pix_fmt = pix_fmt
        self._pad = (0, 0)  # (right, bottom) pixels added to odd sizes for yuv420p
        self._size: tuple[int, int] | None = None  # of the frames given (before any padding)
        self._warned_size = False
        self.frames = 0
        self._time_base = 1 / self._fps  # of the video stream, seconds per pts tick
        self._last_pts = -1
        self._end = Fraction(0)  # seconds: where the last frame written ends
        self._audio_in = None
        self._audio_packets: Iterator | None = None
        self._audio_out: dict[int, object] = {}  # source audio stream index -> output stream
        self._audio_before: list = []  # the source's audio streams before its video
        self._audio_after: list = []  # ... and after it
        self._pending = None
        if audio_from is not None:
            self._open_audio(Path(audio_from))

    def _open_audio(self, source: Path) -> None:
        """Open the audio to copy (every audio track); the streams are added around the
        video's, in the source's order, when the first frame fixes the video's size."""
        av = load_av()
        try:
            src = av.open(str(source))
        except av.error.FFmpegError:
            return
        audio = list(src.streams.audio)
        if not audio:
            src.close()
            return
        video = src.streams.video
        first_video = video[0].index if video else -1
        self._audio_in = src
        self._audio_before = [a for a in audio if a.index < first_video]
        self._audio_after = [a for a in audio if a.index > first_video]
        self._audio_packets = iter(src.demux(*audio))

    def write(self, rgb: np.ndarray, seconds: Fraction | float | None = None) -> None:
        """Append one frame (H, W, 3) RGB uint8.

        ``seconds``: its presentation time in seconds (the input frame's, so variable frame
        rates and dropped frames keep their timing and the audio its sync); None: one frame
        period after the previous frame. The first frame decides: once timed, timed."""
        av = load_av()
        h, w = rgb.shape[:2]
        if self._video is None:
            self._start_video(w, h, timed=seconds is not None)
        elif (w, h) != self._size:
            if not self._warned_size:
                log.warning("%s: frame %d is %dx%d, the video is %dx%d: resizing", self.path,
                            self.frames, w, h, *self._size)
                self._warned_size = True
            rgb = cv2.resize(rgb, self._size, interpolation=cv2.INTER_AREA)
        if self._pad != (0, 0):
            rgb = cv2.copyMakeBorder(rgb, 0, self._pad[1], 0, self._pad[0], cv2.BORDER_REPLICATE)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self._next_pts(seconds)
        frame.time_base = self._time_base
        self._end = Fraction(frame.pts) * self._time_base + 1 / self._fps
        with self._muxing():
            self._mux_audio_until(self._end)
            for packet in self._video.encode(frame):
                self._container.mux(packet)
        self.frames += 1

    @contextmanager
    def _muxing(self) -> Iterator[None]:
        """FFmpeg's errors while writing as a one-line :class:`VideoError` (an OSError such as
        a full disk stays an OSError: the command says what to do with it)."""
        av = load_av()
        try:
            yield
        except av.error.FFmpegError as exc:
            if isinstance(exc, OSError):
                raise
            scheme = self.target.split("://", 1)[0] if "://" in self.target else None
            if isinstance(exc, av.error.ProtocolNotFoundError) and scheme:
                raise VideoError(
                    f"the FFmpeg inside PyAV cannot write {scheme}:// (the PyPI wheels of av "
                    f"are built without it): write to '-' and pipe into an ffmpeg that has "
                    f"it (docs/streaming.md), or use udp:// or rtmp://") from exc
            raise VideoError(f"cannot write {self.target} ({exc})") from exc

    def _next_pts(self, seconds: Fraction | float | None) -> int:
        """The frame's pts in the stream's time base, always after the previous one."""
        step = self._time_base ** -1 / self._fps  # time-base ticks per frame period
        if seconds is None:
            pts = self._last_pts + max(1, round(step)) if self._last_pts >= 0 else 0
        else:
            pts = max(0, round(Fraction(seconds).limit_denominator(10**9) / self._time_base))
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        return pts

    def _start_video(self, w: int, h: int, timed: bool = False) -> None:
        self._size = (w, h)
        # timed frames need a fine clock (90 kHz, as MPEG); frame counts need only 1/fps
        self._time_base = TIMED_BASE if timed else 1 / self._fps
        self._pad = (0, 0)
        if self._pix_fmt == "yuv420p":
            self._pad = (w % 2, h % 2)
            if self._pad != (0, 0):
                log.info("%s: %dx%d is odd, written as %dx%d (edge pixels repeated) for "
                         "yuv420p; yuv444p keeps the size exactly", self.target, w, h,
                         w + self._pad[0], h + self._pad[1])
        self._add_audio_streams(self._audio_before)
        vs = self._container.add_stream("libx264", rate=self._fps)
        vs.width, vs.height = w + self._pad[0], h + self._pad[1]
        vs.pix_fmt = self._pix_fmt
        vs.time_base = self._time_base
        vs.codec_context.time_base = self._time_base  # (else the encoder takes 1/rate)
        vs.options = {"crf": str(self._crf), "preset": "veryfast"}
        if self._live:
            vs.options = {"crf": str(self._crf), "preset": "ultrafast", "tune": "zerolatency"}
        self._video = vs
        self._add_audio_streams(self._audio_after)

    def _add_audio_streams(self, streams: list) -> None:
        for ain in streams:
            self._audio_out[ain.index] = self._container.add_stream_from_template(ain)

    def _mux_audio_until(self, seconds: Fraction | None) -> None:
        if self._audio_packets is None or not self._audio_out:
            return
        while True:
            packet = self._pending if self._pending is not None else next(self._audio_packets,
                                                                            None)
            self._pending = None
            if packet is None:
                self._audio_packets = None
                return
            if packet.dts is None:  # the demuxer's flush packet
                continue
            if seconds is not None and packet.pts is not None and \
                    packet.pts * packet.time_base > seconds:
                self._pending = packet
                return
            packet.stream = self._audio_out[packet.stream.index]
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and the audio up to the end of the video, close the file and give
        it its name. When finishing fails (a full disk), the partial file is removed and the
        error raised: nothing half-written is left under ``path``."""
        if self._container is None:
            return
        try:
            with self._muxing():
                if self._video is not None:
                    for packet in self._video.encode():
                        self._container.mux(packet)
                self._mux_audio_until(self._end)
                self._release()
        except BaseException:
            self.abort()
            raise
        if self.frames == 0:  # an empty container is not a video: never one under `path`
            self.abort()
            raise VideoError(f"no frames were written to {self.target}: nothing was kept")
        if self._partial is not None:
            try:
                os.replace(self._partial, self.path)
            except OSError as exc:
                self._drop_partial()
                raise VideoError(f"cannot write {self.path} ({exc.strerror}): the finished "
                                 "video could not take that name; nothing was kept") from exc
            self._partial = None
        if self._lock is not None:
            self._lock.release()

    def abort(self) -> None:
        """Stop without finishing: the partial file is removed, ``path`` is left as it was."""
        try:
            self._release()
        except Exception as exc:  # noqa: BLE001 - the file is being thrown away anyway
            log.debug("closing an aborted %s: %s", self.path, exc)
        self._drop_partial()

    def _drop_partial(self) -> None:
        if self._partial is not None:
            self._partial.unlink(missing_ok=True)
            self._partial = None
        if self._lock is not None:
            self._lock.release()

    def _release(self) -> None:
        container, self._container = self._container, None
        try:
            if container is not None:
                container.close()
        finally:
            if self._audio_in is not None:
                self._audio_in.close()
                self._audio_in = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
