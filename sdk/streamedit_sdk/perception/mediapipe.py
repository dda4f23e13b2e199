"""MediaPipe Tasks graphs (mediapipe >= 1.2) on the model files this package ships.

The Tasks wheel ships no models; ``perception/models/`` holds the three this SDK runs (see its
NOTICE.md), each checked against its SHA-256 when a graph loads it. MediaPipe's C++ side logs
a few lines to stderr every time a graph starts (absl and TFLite, before any log level can be
set from Python); :func:`native_logs_quiet` catches them at the file-descriptor level and hands
them to :mod:`logging` at DEBUG instead. One LiteRT warning (an input tensor that MediaPipe
allocated off LiteRT's 64-byte alignment, copied) is logged once per process, on whichever run
first meets such a tensor: heap alignment decides, so a graph's warm-up cannot be relied on to
meet it. Runs are caught too until that line has been seen (:class:`_LateLines`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import threading
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterator

import numpy as np

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).with_name("models")
VIDEO_STEP_MS = 33  # timestamp step of a video-mode graph (one frame at 30 fps; see Faces)


@dataclass(frozen=True)
class ModelFile:
    """One model file under :data:`MODEL_DIR`, as shipped."""

    name: str  # file name
    sha256: str  # hex digest of the file as shipped; checked at load

    @property
    def path(self) -> Path:
        return MODEL_DIR / self.name


FACE_LANDMARKER = ModelFile(
    "face_landmarker.task", "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff")
FACE_DETECTOR_FAR = ModelFile(
    "face_detection_full_range_sparse.tflite",
    "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1")
SELFIE_SEGMENTER = ModelFile(
    "selfie_segmentation_landscape.tflite",
    "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd")
MODELS = (FACE_LANDMARKER, FACE_DETECTOR_FAR, SELFIE_SEGMENTER)


class ModelFileError(RuntimeError):
    """A shipped model file is missing or not the file it should be."""


def file_sha256(model: ModelFile) -> str | None:
    """The SHA-256 of the model's file as it is on disk (None when it is missing); hashed once
    per process and file state."""
    try:
        stat = model.path.stat()
    except OSError:
        return None
    return _sha256(str(model.path), stat.st_size, stat.st_mtime_ns)


def checked_path(model: ModelFile) -> str:
    """The model's path, after checking its SHA-256 against the one it shipped with."""
    digest = file_sha256(model)
    if digest is None:
        raise ModelFileError(
            f"{model.name} is missing from {MODEL_DIR}: reinstall streamedit-sdk "
            "(pip install --force-reinstall streamedit-sdk)")
    if digest != model.sha256:
        raise ModelFileError(
            f"{model.path} has sha256 {digest[:16]}..., expected {model.sha256[:16]}...: the "
            "file is damaged or was replaced; reinstall streamedit-sdk")
    return str(model.path)


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """(size and mtime key the cache: a file changed on disk is hashed again)"""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def vision() -> ModuleType:
    """``mediapipe.tasks.python.vision``, or an ImportError that says what to install."""
    try:
        from mediapipe.tasks.python import vision as tasks_vision
        return tasks_vision
    except ImportError as exc:
        raise ImportError(
            "streamedit_sdk needs MediaPipe's Tasks API (mediapipe >= 1.2): "
            "pip install 'mediapipe>=1.2'") from exc


def model_hashes() -> dict[str, str | None]:
    """{file name: sha256 of the file on disk, or None when missing}, for ``streamedit info``
    and the bench / eval JSON (a file that differs from what shipped fails to load)."""
    return {m.name: file_sha256(m) for m in MODELS}


# absl ("W0000 00:00:... file.cc:12] ...", "WARNING: Logging before InitGoogle() ...") and
# TFLite ("INFO: Created TensorFlow Lite ...", "WARNING: [model_load.cc:402] ...") lines.
_NATIVE_LINE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\]|"
    r"(?:INFO|WARNING|ERROR): (?:Created TensorFlow Lite|Logging before InitGoogle|\[[\w.]+:\d+\])|"
    r"All log messages before absl::InitializeLog)")
_STDERR_LOCK = threading.RLock()  # re-entrant: a graph first runs while it starts
# LiteRT's once-per-process warning (ABSL_LOG_FIRST_N) about an input it had to copy to align.
_ALIGNMENT_LINE = "not aligned according to LiteRt"
LATE_RUNS = 600  # graph runs caught at most per process while that line is awaited (20 s at 30 fps)


@contextmanager
def native_logs_quiet() -> Iterator[None]:
    """Catch what native code writes to stderr (fd 2) while a graph starts.

    MediaPipe's lines go to :mod:`logging` at DEBUG; any other line written meanwhile (by
    another thread, say) is written back to stderr afterwards, so nothing else is lost.
    ``STREAMEDIT_NATIVE_LOGS=1`` leaves stderr alone.
    """
    if os.environ.get("STREAMEDIT_NATIVE_LOGS") == "1":
        yield
        return
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            _LATE.saw(text)
            _replay(text)


class _LateLines:
    """Whether graph runs (not only starts) still need their stderr caught.

    LiteRT logs :data:`_ALIGNMENT_LINE` once per process, on the first run whose input tensor
    is misaligned, which heap alignment decides (seen on the 10th run of a process as on the
    1st). Runs are caught until the line has been seen or ``runs`` runs have passed (~35 us
    each, and runs of different threads take turns while caught)."""

    def __init__(self, runs: int = LATE_RUNS) -> None:
        self._lock = threading.Lock()
        self._left = runs

    def saw(self, text: str) -> None:
        if _ALIGNMENT_LINE in text:
            with self._lock:
                self._left = 0

    def catching(self):
        """A context manager for one graph run: :func:`native_logs_quiet` while still needed."""
        with self._lock:
            if self._left <= 0:
                return nullcontext()
            self._left -= 1
        return native_logs_quiet()


_LATE = _LateLines()


def _replay(text: str) -> None:
    """MediaPipe's lines of ``text`` to the log, the rest back to stderr as written."""
    other = []
    for line in text.splitlines(keepends=True):
        if _NATIVE_LINE.match(line):
            log.debug("mediapipe: %s", line.rstrip())
        else:
            other.append(line)
    if other:
        sys.stderr.write("".join(other))
        sys.stderr.flush()


def _as_image(rgb: np.ndarray):
    """``mp.Image`` of an RGB uint8 (H, W, 3) frame."""
    import mediapipe as mp
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))


def _close_at_exit(graph) -> None:
    try:
        graph.close()
    except RuntimeError:
        # The interpreter is exiting and MediaPipe's dispatcher thread has stopped: the graph
        # cannot be closed (the process is ending anyway); keep its __del__ from trying again.
        graph.close = lambda: None


_BLANK = np.zeros((64, 64, 3), np.uint8)  # what a graph first runs on, while its logs are caught


class _Graph:
    """A Tasks graph on one shipped model: started, and run once on a blank image, while its
    native logs are caught (LiteRT logs some warnings on a graph's first run only); closed by
    :meth:`close` or, failing that, at interpreter exit (MediaPipe's own ``__del__`` fails once
    the interpreter is shutting down)."""

    def __init__(self, model: ModelFile, start: Callable[[object], object]) -> None:
        """``start(base_options)``: the graph, created from its options."""
        from mediapipe.tasks.python import BaseOptions
        base = BaseOptions(model_asset_path=checked_path(model))
        with native_logs_quiet():
            self._graph = start(base)
            self._closer = weakref.finalize(self, _close_at_exit, self._graph)
            self._first_run(_BLANK)

    def _first_run(self, rgb: np.ndarray) -> None:
        raise NotImplementedError

    def _run(self, step: Callable, *args):
        """``step(*args)``, a run of the graph (its native lines caught while LiteRT's late
        line is awaited, :class:`_LateLines`)."""
        with _LATE.catching():
            return step(*args)

    def close(self) -> None:
        if self._closer.alive:
            with native_logs_quiet():  # TFLite logs the release of its CPU accelerator
                self._closer()


class Faces(_Graph):
    """Face Landmarker: ``find(rgb)`` -> list of (478, 2) float32 landmarks, frame px (x, y).

    ``video``: video mode (each frame's face region comes from the last frame's landmarks;
    the detector runs only while fewer than ``num_faces`` faces are followed), else image mode
    (every call detects afresh). Video-mode timestamps advance by :data:`VIDEO_STEP_MS` per
    call: the graph's landmark smoothing is a velocity filter and sees the motion of a 30 fps
    stream, whatever the clip's rate. RGB uint8 (H, W, 3) in. Not thread-safe.
    """

    def __init__(self, video: bool, num_faces: int, confidence: float) -> None:
        tasks = vision()
        mode = tasks.RunningMode.VIDEO if video else tasks.RunningMode.IMAGE
        self._video = video
        self._t_ms = 0
        super().__init__(FACE_LANDMARKER, lambda base: tasks.FaceLandmarker.create_from_options(
            tasks.FaceLandmarkerOptions(
                base_options=base, running_mode=mode, num_faces=num_faces,
                min_face_detection_confidence=confidence,
                min_face_presence_confidence=confidence, min_tracking_confidence=confidence)))

    def _first_run(self, rgb: np.ndarray) -> None:
        self.find(rgb)

    def find(self, rgb: np.ndarray) -> list[np.ndarray]:
        image = _as_image(rgb)
        if self._video:
            result = self._run(self._graph.detect_for_video, image, self._t_ms)
            self._t_ms += VIDEO_STEP_MS
        else:
            result = self._run(self._graph.detect, image)
        h, w = rgb.shape[:2]
        scale = np.array([w, h], np.float32)
        return [np.array([(p.x, p.y) for p in face], np.float32) * scale
                for face in result.face_landmarks]


class FarFaces(_Graph):
    """BlazeFace full range: ``boxes(rgb)`` -> list of (centre x, centre y, side) px, best
    first. Finds faces down to ~20 px that the landmarker's short-range detector misses."""

    def __init__(self, confidence: float) -> None:
        tasks = vision()
        super().__init__(FACE_DETECTOR_FAR, lambda base: tasks.FaceDetector.create_from_options(
            tasks.FaceDetectorOptions(base_options=base, running_mode=tasks.RunningMode.IMAGE,
                                      min_detection_confidence=confidence)))

    def _first_run(self, rgb: np.ndarray) -> None:
        self.boxes(rgb)

    def boxes(self, rgb: np.ndarray) -> list[tuple[float, float, float]]:
        found = self._run(self._graph.detect, _as_image(rgb)).detections
        found = sorted(found, key=lambda d: -max((c.score or 0.0) for c in d.categories))
        return [(b.origin_x + b.width / 2, b.origin_y + b.height / 2, float(max(b.width,
                                                                              b.height)))
                for b in (d.bounding_box for d in found)]


class Segmenter(_Graph):
    """Selfie segmentation: ``probability(rgb)`` -> (H, W) float32 in [0, 1], the person."""

    def __init__(self) -> None:
        tasks = vision()
        super().__init__(SELFIE_SEGMENTER, lambda base: tasks.ImageSegmenter.create_from_options(
            tasks.ImageSegmenterOptions(base_options=base, running_mode=tasks.RunningMode.IMAGE,
                                        output_confidence_masks=True,
                                        output_category_mask=False)))

    def _first_run(self, rgb: np.ndarray) -> None:
        self.probability(rgb)

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        masks = self._run(self._graph.segment, _as_image(rgb)).confidence_masks
        if not masks:
            return np.zeros(rgb.shape[:2], np.float32)
        return np.asarray(masks[0].numpy_view(), np.float32).reshape(rgb.shape[:2])
