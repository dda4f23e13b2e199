"""What is measured on a frame before it meets the reference: landmarks and the ARR region.

A :class:`FrameObserver` owns one stream's face meshes (one per landmark thread), the person
segmenter and the worker threads they run on: the segmentation thread (beside the mesh), the
mesh thread that measures frame t while its correspondence starts (:meth:`FrameObserver.begin`),
and with lagged landmarks the lookahead thread that meshes frame t while frame t is matched
with frame t-1's landmarks. The editor asks it for an :class:`Observation` per frame.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from streamedit_sdk.config import EditorConfig
from streamedit_sdk.frames import to_rgb, to_work, work_size
from streamedit_sdk.perception.landmarks import LandmarkTracker, face_hull_mask
from streamedit_sdk.perception.segmentation import PersonSegmenter, ReusedMask
from streamedit_sdk.sides.base import HostImage
from streamedit_sdk.timing import Timer


@dataclass(frozen=True)
class Observation:
    """What is measured on a frame before it meets the reference (pipelinable).

    rgb: (H, W, 3) uint8 full size; work: the same at work size, or None where the frame's
    thread does not need it (lagged landmarks on a device side, which resizes the uploaded
    frame itself); size: work size (width, height); landmarks: (478, 2) float32 work px or
    None, what the frame is warped with; region: (h, w) bool ARR region at work size or None
    (whole frame); own: with lagged landmarks, where ``landmarks`` and ``region`` are the
    previous frame's, the measurement of this frame itself (still running, perhaps).
    """

    rgb: HostImage
    work: HostImage | None
    size: tuple[int, int]
    landmarks: np.ndarray | None
    region: np.ndarray | None
    own: Future | None = None

    def own_landmarks(self) -> np.ndarray | None:
        """This frame's own landmarks (waits for its face mesh in lagged mode)."""
        return self.landmarks if self.own is None else self.own.result().landmarks


def resolved(value: object) -> Future:
    """A future already done, holding ``value``."""
    future: Future = Future()
    future.set_result(value)
    return future


class FrameObserver:
    """Landmarks and ARR region of one stream's frames (see the module docstring).

    ``config``: the editor's; ``timer`` receives the stages resize, landmarks, segmentation and
    landmarks_wait; ``resizes_uploads``: the array side makes its own work frame, so with
    lagged landmarks the worker resizes for the mesh and the frame's thread does not.
    """

    def __init__(self, config: EditorConfig, timer: Timer, resizes_uploads: bool) -> None:
        self._cfg = config
        self._timer = timer
        self._resizes_uploads = resizes_uploads
        self.trackers = [LandmarkTracker(max_faces=config.max_faces)
                         for _ in range(config.landmark_threads)]
        self._tracker = self.trackers[0]  # references, process(), the first stream thread
        self._segmenter = (ReusedMask(PersonSegmenter(), config.replacement.region_every)
                           if config.replacement.region == "person" else None)
        self._segment_pool = (ThreadPoolExecutor(1, thread_name_prefix="streamedit-segment")
                              if self._segmenter is not None else None)
        # lagged landmarks: frame t's face mesh runs here while frame t is matched
        self._lookahead = (ThreadPoolExecutor(1, thread_name_prefix="streamedit-lookahead")
                           if config.lagged_landmarks else None)
        # beside: frame t's face mesh runs here while its correspondence starts (begin)
        self._beside: ThreadPoolExecutor | None = None
        self._ahead: Future | None = None  # the last frame's measurement (lagged landmarks)

    def work(self, rgb: HostImage) -> HostImage:
        """``rgb`` at work size (itself when already small enough)."""
        return to_work(rgb, self._cfg.work_side)

    def detect(self, rgb: HostImage, work: HostImage) -> np.ndarray | None:
        """Landmarks of a single image (a reference: ``rgb`` full size, ``work`` the same at
        work size) as the stream's frames are measured (:meth:`LandmarkTracker.reference`),
        (478, 2) work px, or None."""
        return self._tracker.reference(work, rgb)

    def next(self, rgb: HostImage) -> Observation:
        """The observation :meth:`StreamEditor.process` edits ``rgb`` with: measured here, or
        with lagged landmarks, the previous frame's landmarks while this one is meshed on the
        lookahead thread."""
        if self._lookahead is None:
            return self.observe(rgb)
        size = work_size(rgb.shape[1], rgb.shape[0], self._cfg.work_side)
        if self._resizes_uploads:  # the worker resizes for the mesh, the device for itself
            work = None
            measured = self._lookahead.submit(self.observe, rgb.copy(), self._tracker)
        else:  # the frame's thread needs the work frame: resized once, here
            with self._timer.stage("resize"):
                work = self.work(rgb)
            # (the caller may reuse its buffer before the mesh has read it: the mesh reads
            # the work frame, and a small face's crop is cut from the frame itself)
            measured = self._lookahead.submit(self.measure, *(
                (rgb, work.copy()) if work is rgb else (rgb.copy(), work)), self._tracker)
        return self._lagged(rgb, work, size, measured)

    def begin(self, rgb: HostImage) -> tuple[HostImage, Future]:
        """``rgb`` at work size, and its :class:`Observation` measured on the mesh thread
        (landmarks and region) while the caller works on the frame (the correspondence's
        :meth:`~CorrespondenceModel.begin`); the caller waits for it before the next frame.
        Not with lagged landmarks, whose frames are measured ahead already."""
        if self._lookahead is not None:
            raise RuntimeError("begin: lagged landmarks measure frames on the lookahead thread")
        with self._timer.stage("resize"):
            work = self.work(rgb)
        if self._beside is None:
            self._beside = ThreadPoolExecutor(1, thread_name_prefix="streamedit-mesh")
        return work, self._beside.submit(self.measure, rgb, work)

    def convert_observe(self, frame: np.ndarray,
                        tracker: LandmarkTracker | None = None) -> Observation:
        """:meth:`observe` of a frame in the caller's format (any thread, one tracker each)."""
        with self._timer.stage("convert"):
            rgb = to_rgb(frame, self._cfg.color_order)
        return self.observe(rgb, tracker)

    def observe(self, rgb: HostImage, tracker: LandmarkTracker | None = None) -> Observation:
        """Landmarks and ARR region of a frame; touches only ``tracker`` (default: the first)
        and the segmenter."""
        with self._timer.stage("resize"):
            work = self.work(rgb)
        return self.measure(rgb, work, tracker)

    def measure(self, rgb: HostImage, work: HostImage,
                tracker: LandmarkTracker | None = None) -> Observation:
        """:meth:`observe` of a frame already at work size.

        The person is segmented on the segmentation thread while the landmarks are tracked
        here (the two MediaPipe graphs are independent and release the GIL)."""
        person = None
        if self._segment_pool is not None:
            person = self._segment_pool.submit(self._person_mask, work)
        with self._timer.stage("landmarks"):
            landmarks = (tracker or self._tracker).track(work, rgb)
        mask = person.result() if person is not None else self._person_mask(work)
        return Observation(rgb, work, (work.shape[1], work.shape[0]), landmarks,
                           self._region(work, landmarks, mask))

    def lagged_observed(self, obs: Observation) -> Observation:
        """A frame measured in full (``stream``) as :meth:`next` would give it: itself when
        landmarks are not lagged."""
        if self._lookahead is None:
            return obs
        return self._lagged(obs.rgb, obs.work, obs.size, resolved(obs))

    def _lagged(self, rgb: HostImage, work: HostImage | None, size: tuple[int, int],
                measured: Future) -> Observation:
        """The frame with the previous frame's landmarks and region, its own (``measured``,
        perhaps still running) kept for a replacement and the next frame. The first frame of
        a stream waits for its own."""
        earlier, self._ahead = self._ahead, measured
        with self._timer.stage("landmarks_wait"):
            seen = (earlier or measured).result()
        return Observation(rgb, work, size, seen.landmarks, seen.region, own=measured)

    def settle(self) -> None:
        """Let the lookahead finish the frame in hand (it uses the first tracker), forget it."""
        if self._ahead is not None:
            wait([self._ahead])
        self._ahead = None

    def reset(self) -> None:
        """Forget the tracked faces and the person mask (a new stream)."""
        self.settle()
        for tracker in self.trackers:
            tracker.reset()
        if self._segmenter is not None:
            self._segmenter.reset()

    def close(self) -> None:
        self.settle()
        if self._lookahead is not None:
            self._lookahead.shutdown()
        if self._beside is not None:
            self._beside.shutdown()
        for tracker in self.trackers:
            tracker.close()
        if self._segmenter is not None:
            self._segment_pool.shutdown()
            self._segmenter.close()

    def _person_mask(self, work: HostImage) -> np.ndarray | None:
        """The selfie mask (region "person"), None for the other regions."""
        if self._segmenter is None:
            return None
        with self._timer.stage("segmentation"):
            return self._segmenter.mask(work)

    def _region(self, work: HostImage, landmarks: np.ndarray | None,
                person: np.ndarray | None) -> np.ndarray | None:
        region = self._cfg.replacement.region
        if person is not None and person.any():
            return person
        if region in ("person", "face") and landmarks is not None:
            return face_hull_mask(landmarks, work.shape[1], work.shape[0])
        return None
