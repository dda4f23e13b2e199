"""Where a live stream's frames come from and go to: raw rgb24 pipes, files and URLs through
PyAV (FFmpeg), and a virtual camera. Every source yields RGB uint8 (H, W, 3) frames."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Protocol

import numpy as np

from streamedit_sdk.errors import VideoError
from streamedit_sdk.io.paths import is_file_target
from streamedit_sdk.io.video import (Damage, VideoWriter, check_input_file, decode_video,
                                     ffmpeg_reason, frame_seconds, load_av, quarter_turns,
                                     upright)

log = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 10.0  # a URL that does not answer within this is an error
READ_TIMEOUT_S = 10.0  # default: a live source silent this long has ended
URL_FORMATS = {"udp": "mpegts", "srt": "mpegts", "rtp": "rtp_mpegts", "rtmp": "flv",
               "tcp": "mpegts"}


def is_url(target: str) -> bool:
    return "://" in target


class Source(Protocol):
    """Frames in: ``size`` (w, h) once known, ``fps`` (None for pipes without one), ``live``
    (True when frames arrive at their own pace), iterated once."""

    fps: Fraction | None
    live: bool

    def __iter__(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


class RawSource:
    """rgb24 frames of ``size`` from a binary stream (stdin from ffmpeg ``-f rawvideo``)."""

    live = True

    def __init__(self, stream: BinaryIO, size: tuple[int, int], fps: float | None = None):
        self._stream = stream
        self.size = size
        self.fps = Fraction(fps) if fps else None
        self.partial = 0  # bytes of an incomplete last frame (dropped, logged)

    def __iter__(self) -> Iterator[np.ndarray]:
        w, h = self.size
        n = w * h * 3
        while True:
            chunk = self._stream.read(n)
            while chunk and len(chunk) < n:  # pipes return short reads
                more = self._stream.read(n - len(chunk))
                if not more:
                    break
                chunk += more
            if not chunk:
                return
            if len(chunk) < n:
                self.partial = len(chunk)
                log.warning("input ended inside a frame (%d of %d bytes): that part is not a "
                            "frame and is dropped", len(chunk), n)
                return
            yield np.frombuffer(chunk, np.uint8).reshape(h, w, 3)

    def close(self) -> None:
        pass


class AVSource:
    """A video file or a URL FFmpeg reads (udp://, srt://, rtmp://, http://), decoded by PyAV.

    URLs are live (their own pace); files are read as fast as they decode unless the runner
    paces them. ``read_timeout``: seconds a live source may stay silent before it counts as
    ended (logged as the end, not as an error)."""

    def __init__(self, target: str, read_timeout: float = READ_TIMEOUT_S) -> None:
        av = load_av()
        if not read_timeout > 0:
            raise ValueError(f"the read timeout must be > 0 seconds, got {read_timeout}")
        self.target = target
        self.read_timeout = read_timeout
        self.live = is_url(target)
        if not self.live:
            check_input_file(Path(target), "input")
        try:
            self._container = av.open(target, timeout=(OPEN_TIMEOUT_S, read_timeout))
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(f"cannot open {target} ({ffmpeg_reason(exc)}): is it a video, "
                             "and is the sender running?") from exc
        if not self._container.streams.video:
            self._container.close()
            raise VideoError(f"{target} holds no video stream")
        vs = self._container.streams.video[0]
        rate = vs.average_rate or vs.guessed_rate
        self.fps = Fraction(rate) if rate else None
        self.size = (vs.codec_context.width, vs.codec_context.height)
        self.truncated = False
        self.damage = Damage()  # packets that could not be decoded (skipped)

    def __iter__(self) -> Iterator[np.ndarray]:
        for rgb, _ in self.timed():
            yield rgb

    def timed(self) -> Iterator[tuple[np.ndarray, Fraction | None]]:
        """Each frame, upright (a display rotation is applied), with its presentation time
        in seconds (None when the stream has none). A packet that cannot be decoded is
        skipped (``damage``)."""
        av = load_av()
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        turns = None
        try:
            for frame in decode_video(self._container, stream, self.damage):
                if turns is None:
                    turns = quarter_turns(frame)
                yield upright(frame, turns), frame_seconds(frame)
        except av.error.ExitError:  # FFmpeg gave up waiting: the read timeout passed
            log.info("%s: no data for %.0f s: the input has ended", self.target,
                     self.read_timeout)
        except (av.error.FFmpegError, OSError) as exc:  # a cut stream or a corrupt tail
            self.truncated = True
            log.warning("%s: reading stopped (%s); the frames before are kept", self.target,
                        ffmpeg_reason(exc))

    def close(self) -> None:
        self._container.close()


class Sink(Protocol):
    """Frames out, in order; ``close`` finalises (a file is playable after it). ``seconds``: the
    frame's presentation time in seconds where the source gave one (files and URLs keep it:
    dropped frames and variable frame rates keep their timing); None: the next frame period.
    ``keeps_time``: False for a sink whose reader counts frames instead (a raw pipe): the
    runner then fills a dropped frame's slot by repeating the last frame."""

    keeps_time: bool

    def write(self, rgb: np.ndarray, seconds: Fraction | None = None) -> None: ...

    def close(self) -> None: ...


class RawSink:
    """rgb24 frames to a binary stream (stdout into ffmpeg ``-f rawvideo``). Raw frames carry
    no times: the reader counts them (``keeps_time`` False)."""

    keeps_time = False

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, rgb: np.ndarray, seconds: Fraction | None = None) -> None:
        self._stream.write(np.ascontiguousarray(rgb).tobytes())
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()


class AVSink:
    """A file (H.264 in its container) or a URL (``URL_FORMATS``: MPEG-TS over UDP/SRT, FLV
    over RTMP; low-latency x264) written by PyAV."""

    keeps_time = True

    def __init__(self, target: str, fps: Fraction, audio_from: str | None = None) -> None:
        """``audio_from``: a video file whose audio is copied into a file target (skipped for
        URLs and inputs that are not files)."""
        live = is_url(target)
        fmt = URL_FORMATS.get(target.split("://", 1)[0]) if live else None
        if live and fmt is None:
            raise ValueError(f"no container known for {target}: use one of "
                             f"{', '.join(sorted(URL_FORMATS))}:// or a file")
        audio = audio_from if audio_from and not live and is_file_target(audio_from) else None
        self._writer = VideoWriter(target, fps, format=fmt, live=live, audio_from=audio)

    def write(self, rgb: np.ndarray, seconds: Fraction | None = None) -> None:
        self._writer.write(rgb, seconds)

    def close(self) -> None:
        self._writer.close()


CameraFactory = Callable[..., object]


class VirtualCamSink:
    """A virtual camera (pyvirtualcam: OBS Virtual Camera, v4l2loopback) that Zoom, OBS or a
    browser can open. ``camera``: a factory with pyvirtualcam.Camera's signature (tests pass a
    fake one; these machines have no v4l2loopback). Shown as frames arrive: a dropped frame is
    the last one held longer (``keeps_time``)."""

    keeps_time = True

    def __init__(self, size: tuple[int, int], fps: Fraction,
                 camera: CameraFactory | None = None, device: str | None = None) -> None:
        if camera is None:
            try:
                import pyvirtualcam
            except ImportError as exc:
                raise ImportError("--output virtualcam needs pyvirtualcam (pip install "
                                  "pyvirtualcam) and a virtual camera driver (OBS Virtual "
                                  "Camera, or v4l2loopback on Linux)") from exc
            camera = pyvirtualcam.Camera
            fmt = pyvirtualcam.PixelFormat.RGB
        else:
            fmt = "RGB"
        w, h = size
        try:
            self._cam = camera(width=w, height=h, fps=float(fps), fmt=fmt, device=device)
        except RuntimeError as exc:  # pyvirtualcam: no backend / device
            raise VideoError(f"no virtual camera could be opened ({exc}): install OBS "
                             "(Virtual Camera) or load v4l2loopback") from exc
        self.size = size
        log.info("virtual camera %s, %dx%d at %.1f fps", getattr(self._cam, "device", "?"), w,
                 h, float(fps))

    def write(self, rgb: np.ndarray, seconds: Fraction | None = None) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            import cv2
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        self._cam.send(np.ascontiguousarray(rgb))

    def close(self) -> None:
        self._cam.close()
