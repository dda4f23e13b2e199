"""StreamEditor: carries the edit of one reference frame onto every later frame of a stream."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from streamedit_sdk.core import ops
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.correspondence.factory import open_correspondence
from streamedit_sdk.frames import from_rgb, resize_to, to_rgb, to_work, work_size
from streamedit_sdk.core.inpaint import EditInpainter, Inpainter, OpenCVInpainter, as_edit_inpainter
from streamedit_sdk.perception.landmarks import LandmarkTracker, face_hull_mask
from streamedit_sdk.core.builder import ReferenceBuilder, resolved
from streamedit_sdk.core.policy import ReplacementPolicy
from streamedit_sdk.perception.segmentation import PersonSegmenter, ReusedMask
from streamedit_sdk.timing import NullTimer, Timer
from streamedit_sdk.errors import NoFaceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditResult:
    """What :meth:`StreamEditor.process` returns for one frame.

    frame: (H, W, 3) uint8 edited frame, in the configured channel order (host numpy).
    map: (H, W, 2) float32 correspondence current -> reference, absolute reference px (x, y).
    sigma: (H, W) float32 Laplace scale of the correspondence error (intensity, 0..1 units).
    ``map`` and ``sigma`` are numpy arrays on the host backends and torch tensors on the
    device with the GPU backends (they are not copied back; ``.cpu().numpy()`` when needed).
    reference_id: stream index of the frame that is the reference for this output.
    replaced: True when this frame became the new reference (ARR). With
        ``ReplacementConfig.swap_delay`` d > 0 the next frame uses it with its edit as
        carried, and frame d after this one with the edit inpainted where the old reference
        did not see (made on a worker meanwhile).
    face_found: False when no landmarks were found (the map comes from image content alone);
        with ``EditorConfig.lagged_landmarks``, the landmarks of the frame before.
    uncertain_fraction: share of the ARR region whose sigma is above the pixel threshold.
    index: stream index of this frame (0 for the first ``process`` call).
    passed_through: True when the correspondence model returned NaN or infinite values (a
        faulty engine): the frame is the input, unedited, and the stream goes on.
    """

    frame: np.ndarray
    map: Any
    sigma: Any
    reference_id: int
    replaced: bool
    face_found: bool
    uncertain_fraction: float
    index: int
    passed_through: bool = False  # the correspondence was not finite: the input frame, unedited


@dataclass
class EditorStats:
    """Counters over the stream since the last :meth:`StreamEditor.reset`."""

    frames: int = 0
    faces_lost: int = 0  # frames without landmarks, edited from image content alone
    engine_faults: int = 0  # frames passed through because the map or sigma was not finite
    reinitialized: int = 0  # frame-size changes that re-initialised the reference
    reference_ids: list[int] = field(default_factory=list)  # stream index of every reference

    @property
    def references(self) -> int:
        return len(self.reference_ids)


@dataclass(frozen=True)
class _Observation:
    """What is measured on a frame before it meets the reference (pipelinable).

    rgb: (H, W, 3) uint8 full size; work: the same at work size, or None where the frame's
    thread does not need it (lagged landmarks on a device side, which resizes the uploaded
    frame itself); size: work size (width, height); landmarks: (478, 2) float32 work px or
    None, what the frame is warped with; region: (h, w) bool ARR region at work size or None
    (whole frame); own: with lagged landmarks, where ``landmarks`` and ``region`` are the
    previous frame's, the measurement of this frame itself (still running, perhaps).
    """

    rgb: np.ndarray
    work: np.ndarray | None
    size: tuple[int, int]
    landmarks: np.ndarray | None
    region: np.ndarray | None
    own: Future | None = None

    def own_landmarks(self) -> np.ndarray | None:
        """This frame's own landmarks (waits for its face mesh in lagged mode)."""
        return self.landmarks if self.own is None else self.own.result().landmarks


class StreamEditor:
    """Edit propagation for one stream, in the MediaPipe manner.

    >>> with StreamEditor(EditorConfig()) as ed:
    ...     ed.set_reference(frame0, edited0)
    ...     for frame in frames:
    ...         out = ed.process(frame).frame

    Frames are uint8 (H, W, 3) RGB (``EditorConfig.color_order="bgr"`` for OpenCV frames);
    grayscale and RGBA frames are converted. Thread-safety: one editor per stream, used from one
    thread at a time; several editors may run in one process (each owns its MediaPipe graphs).
    """

    def __init__(self, config: EditorConfig | None = None, *,
                 inpainter: Inpainter | EditInpainter | None = None,
                 timer: Timer | None = None) -> None:
        """``inpainter``: fills what an old reference did not see (default OpenCV Telea on
        the edit's difference; a :class:`~.inpaint.EditInpainter` such as the diffusion
        inpainter sees the frame too).
        ``timer``: receives every stage's wall time (e.g. :class:`~.timing.StageTimer`);
        stages: convert, resize, landmarks, segmentation, landmarks_wait (lagged landmarks:
        the frame waiting for the previous frame's face mesh), upload, landmark_warp, the
        correspondence model's own (flow, refine, sigma / backbone, head), propagation,
        uncertainty, download, reference_update (which contains one more call of the model's
        stages when it re-matches a reference against the origin), reference_swap (a new
        reference taking over). On the GPU backends work
        is asynchronous: give the timer a ``sync`` (:class:`~.timing.StageTimer`) to time
        stages rather than launches."""
        self.config = config or EditorConfig()
        cfg = self.config
        self._timer = timer or NullTimer()
        self._xp, self._model = open_correspondence(cfg, self._timer)
        self._inpainter = as_edit_inpainter(
            inpainter or OpenCVInpainter(cfg.replacement.inpaint_radius))
        self._trackers = [LandmarkTracker(max_faces=cfg.max_faces)
                          for _ in range(cfg.landmark_threads)]
        self._tracker = self._trackers[0]  # references, process(), the first stream thread
        self._segmenter = (ReusedMask(PersonSegmenter(), cfg.replacement.region_every)
                           if cfg.replacement.region == "person" else None)
        self._segment_pool = (ThreadPoolExecutor(1, thread_name_prefix="streamedit-segment")
                              if self._segmenter is not None else None)
        self._policy = ReplacementPolicy(cfg.replacement)
        # lagged landmarks: frame t's face mesh runs here while frame t is matched
        self._lookahead = (ThreadPoolExecutor(1, thread_name_prefix="streamedit-lookahead")
                           if cfg.lagged_landmarks else None)
        self._ahead: Future | None = None  # the last frame's measurement (lagged landmarks)
        self._builder = ReferenceBuilder(self._xp, self._model, self._inpainter,
                                         cfg.replacement)
        self._initial: tuple[np.ndarray, np.ndarray, int] | None = None
        self._ref: ops.Reference | None = None
        self._host_ref: tuple[np.ndarray, np.ndarray] | None = None  # frame, edit (host)
        self._prev_map: Any = None
        self._index = 0
        self.stats = EditorStats()
        self._closed = False

    # -- public API -------------------------------------------------------------------------
    def set_reference(self, frame: np.ndarray, edited: np.ndarray, *, index: int = 0) -> None:
        """Take ``frame`` as the reference and ``edited`` as its edit.

        Both (H, W, 3) uint8 in the configured channel order, same size. ``index`` is the stream
        index of ``frame`` (reported as ``reference_id``). Raises :class:`NoFaceError` when the
        frame shows no face, and ``ValueError`` when the sizes differ.
        """
        self._check_open()
        self._settle()
        rgb = to_rgb(frame, self.config.color_order, name="reference frame")
        edit = to_rgb(edited, self.config.color_order, name="edited reference")
        if edit.shape != rgb.shape:
            raise ValueError(
                f"edited reference is {edit.shape[1]}x{edit.shape[0]} but the reference frame is "
                f"{rgb.shape[1]}x{rgb.shape[0]}: resize the edit to the frame size or pick the "
                "frame it was made from (--ref-frame)")
        work = self._work(rgb)
        landmarks = self._tracker.detect(work)
        if landmarks is None:
            raise NoFaceError(f"no face found in the reference frame (stream index {index}): "
                              "pick a frame that shows the face (--ref-frame N)")
        self._initial = (rgb, edit, index)
        self._start(rgb, edit, index, work, landmarks)

    def process(self, frame: np.ndarray) -> EditResult:
        """Edit the next frame of the stream. Never drops a frame: one result per call."""
        self._check_started()
        with self._timer.stage("convert"):
            rgb = to_rgb(frame, self.config.color_order)
        if rgb.shape != self._host_ref[0].shape:
            self._reinitialize(rgb.shape)
        if self._lookahead is None:
            return self._edit(self._observe(rgb))
        size = work_size(rgb.shape[1], rgb.shape[0], self.config.work_side)
        if self._xp.resizes_uploads:  # the worker resizes for the mesh, the device for itself
            work = None
            measured = self._lookahead.submit(self._observe, rgb.copy(), self._tracker)
        else:  # the frame's thread needs the work frame: resized once, here
            with self._timer.stage("resize"):
                work = self._work(rgb)
            # (the caller may reuse its buffer before the mesh has read it)
            measured = self._lookahead.submit(self._measure, rgb,
                                              work.copy() if work is rgb else work, self._tracker)
        return self._edit(self._lagged(rgb, work, size, measured))

    def stream(self, frames: Iterable[np.ndarray], *,
               pipelined: bool = True) -> Iterator[EditResult]:
        """Edit every frame of ``frames`` in order, one :class:`EditResult` each.

        ``pipelined``: measure the next frames (landmarks, person mask) on worker threads while
        frame t is matched and propagated; faster on two or more cores. With one landmark thread
        (the default) the results are those of :meth:`process` on each frame, and each output
        waits for the next input frame. ``EditorConfig.landmark_threads`` = k measures k frames
        at once (one face mesh each, frames dealt round-robin, so landmarks differ slightly from
        one mesh's); each output then waits for k further input frames.
        """
        self._check_started()
        if not pipelined:
            for frame in frames:
                yield self.process(frame)
            return
        it = iter(frames)
        k = len(self._trackers)
        dealt = 0
        pending: deque[Future] = deque()
        with ThreadPoolExecutor(k, thread_name_prefix="streamedit-observe") as pool:

            def submit() -> None:
                nonlocal dealt
                frame = next(it, None)
                if frame is not None:
                    tracker = self._trackers[dealt % k]
                    pending.append(pool.submit(self._convert_observe, frame, tracker))
                    dealt += 1

            for _ in range(k):
                submit()
            try:
                while pending:
                    obs = pending.popleft().result()
                    if obs.rgb.shape != self._host_ref[0].shape:
                        # new frame size: let the workers finish, then redo their frames in
                        # order on this thread with the re-initialised trackers
                        later = [f.result() for f in pending]
                        pending.clear()
                        for o in (obs, *later):
                            if o.rgb.shape != self._host_ref[0].shape:
                                self._reinitialize(o.rgb.shape)
                            yield self._edit(self._lagged_observed(self._observe(o.rgb)))
                        for _ in range(k):
                            submit()
                        continue
                    submit()
                    yield self._edit(self._lagged_observed(obs))
            finally:
                for f in pending:  # the consumer stopped early; the pool waits for the rest
                    f.cancel()

    @property
    def reference_edit(self) -> np.ndarray:
        """(H, W, 3) uint8 the edit of the current reference, in the configured channel order
        (the user's edit, or the one a replacement made for its frame; with ``swap_delay``,
        as carried until its inpainted form is in)."""
        self._check_started()
        return from_rgb(self._host_ref[1], self.config.color_order).copy()

    def reset(self) -> None:
        """Start a new stream with the reference given to :meth:`set_reference`."""
        self._check_open()
        self._settle()
        self._index = 0
        self.stats = EditorStats()
        if self._initial is None:
            self._forget_stream()
        else:
            self._restart(*self._initial)

    def close(self) -> None:
        """Release the MediaPipe graphs and the correspondence model's sessions. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._settle()
        self._builder.close()
        if self._lookahead is not None:
            self._lookahead.shutdown()
        for tracker in self._trackers:
            tracker.close()
        self._model.close()
        if self._segmenter is not None:
            self._segment_pool.shutdown()
            self._segmenter.close()

    def __enter__(self) -> "StreamEditor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _convert_observe(self, frame: np.ndarray,
                         tracker: LandmarkTracker | None = None) -> _Observation:
        with self._timer.stage("convert"):
            rgb = to_rgb(frame, self.config.color_order)
        return self._observe(rgb, tracker)

    def _observe(self, rgb: np.ndarray,
                 tracker: LandmarkTracker | None = None) -> _Observation:
        """Landmarks and ARR region of a frame; touches only ``tracker`` (default: the first)
        and the segmenter."""
        with self._timer.stage("resize"):
            work = self._work(rgb)
        return self._measure(rgb, work, tracker)

    def _measure(self, rgb: np.ndarray, work: np.ndarray,
                 tracker: LandmarkTracker | None = None) -> _Observation:
        """:meth:`_observe` of a frame already at work size.

        The person is segmented on the editor's segmentation thread while the landmarks are
        tracked here (the two MediaPipe graphs are independent and release the GIL)."""
        person = None
        if self._segment_pool is not None:
            person = self._segment_pool.submit(self._person_mask, work)
        with self._timer.stage("landmarks"):
            landmarks = (tracker or self._tracker).track(work)
        mask = person.result() if person is not None else self._person_mask(work)
        return _Observation(rgb, work, (work.shape[1], work.shape[0]), landmarks,
                            self._region(work, landmarks, mask))

    def _lagged(self, rgb: np.ndarray, work: np.ndarray | None, size: tuple[int, int],
                measured: Future) -> _Observation:
        """Lagged landmarks: the frame with the previous frame's landmarks and region, its own
        (``measured``, perhaps still running) kept for a replacement and the next frame. The
        first frame of a stream waits for its own."""
        earlier, self._ahead = self._ahead, measured
        with self._timer.stage("landmarks_wait"):
            seen = (earlier or measured).result()
        return _Observation(rgb, work, size, seen.landmarks, seen.region, own=measured)

    def _lagged_observed(self, obs: _Observation) -> _Observation:
        """:meth:`_lagged` for a frame measured in full (``stream``); itself when landmarks
        are not lagged."""
        if self._lookahead is None:
            return obs
        return self._lagged(obs.rgb, obs.work, obs.size, resolved(obs))

    def _edit(self, obs: _Observation) -> EditResult:
        """Match the observed frame to the reference, carry the edit, decide on ARR."""
        if self._builder.due(self._index):
            with self._timer.stage("reference_swap"):
                self._adopt()
        elif self._builder.takes_over(self._index):
            with self._timer.stage("reference_swap"):
                self._adopt_provisional()
        cfg, timer, ref, xp = self.config, self._timer, self._ref, self._xp
        h, w = obs.rgb.shape[:2]
        ww, wh = obs.size
        with timer.stage("upload"):
            frame, work = xp.upload_frame(obs.rgb, obs.size if obs.work is None else obs.work)
        prior = self._prev_map if self._prev_map is not None else xp.identity_map(wh, ww)
        with timer.stage("landmark_warp"):
            if obs.landmarks is not None and ref.mesh is not None:
                init = ops.landmark_map(ref.mesh, obs.landmarks, wh, ww, prior, xp)
            else:
                init = prior
        if obs.landmarks is None:
            self.stats.faces_lost += 1
        corr = self._model.predict(work, ref.features, init, obs.landmarks)
        self._prev_map = corr.map
        with timer.stage("propagation"):
            full_map = xp.resize_map(corr.map, w, h)
            carried = ops.carry_edit(ref, corr.map, full_map, xp, delta=cfg.mode == "residual")
            output = ops.propagate(ref, carried, full_map, frame, cfg.mode, xp)
        with timer.stage("uncertainty"):
            pending = xp.fraction_above(corr.sigma, obs.region, cfg.replacement.pixel_sigma)
            finite = xp.all_finite(corr.map, corr.sigma)
            sigma = xp.resize_image(corr.sigma, w, h)
        with timer.stage("download"):  # the frame's one wait for the device
            edited = xp.download_frame(output)
        if not bool(finite):
            return self._pass_through(obs, full_map, sigma)
        fraction = float(pending)
        replaced = (self._policy.update(fraction, abs(self._index - ref.index))
                    and self._builder.pending is None)
        if replaced:
            with timer.stage("reference_update"):
                edited = self._replace(ref, carried, corr.map, full_map, obs, frame, work,
                                       output, edited, sigma)
        result = EditResult(from_rgb(edited, cfg.color_order), full_map, sigma, self._ref.index,
                            replaced, obs.landmarks is not None, fraction, self._index)
        self._index += 1
        self.stats.frames += 1
        return result

    def _pass_through(self, obs: _Observation, full_map: Any, sigma: Any) -> EditResult:
        """The input frame, unedited, when the model's output was not finite."""
        self.stats.engine_faults += 1
        self._prev_map = None  # not the next frame's prior
        if self.stats.engine_faults in (1, 10, 100, 1000):
            log.warning("frame %d: the correspondence model returned NaN or infinite values "
                        "(%d frames so far): the frame is passed through unedited", self._index,
                        self.stats.engine_faults)
        result = EditResult(from_rgb(obs.rgb, self.config.color_order), full_map, sigma,
                            self._ref.index, False, obs.landmarks is not None, 0.0, self._index,
                            passed_through=True)
        self._index += 1
        self.stats.frames += 1
        return result

    def _replace(self, ref: ops.Reference, carried: ops.CarriedEdit, corr_map: Any,
                 full_map: Any, obs: _Observation, frame: Any, work: Any, output: Any,
                 edited: np.ndarray, sigma: Any) -> np.ndarray:
        """Make the observed frame the reference (ARR); returns this frame's output (host):
        its inpainted edit with ``swap_delay`` 0, else ``edited``, the edit as carried (the
        next frame takes the new reference with that edit, and frame ``swap_delay`` after
        this one its inpainted edit, made on a worker meanwhile)."""
        self._builder.start(self._index, ref, carried, corr_map, full_map, sigma, frame, work,
                            obs.rgb, output, edited, obs.own_landmarks)
        log.info("frame %d: uncertain fraction %.3f, new reference (was frame %d)",
                 self._index, self._policy.windowed, ref.index)
        self._policy.replaced()
        if self.config.replacement.swap_delay:
            return edited
        self._adopt()
        return self._host_ref[1]

    def _adopt(self) -> None:
        """The reference being built takes over with its inpainted edit (waits for it)."""
        provisional = self._builder.provisional_in_use
        self._ref, rgb, edited = self._builder.finish(self._ref)
        self._host_ref = (rgb, edited)
        if not provisional:  # else its frame, and so the maps, were in use already
            self._prev_map = None
            self.stats.reference_ids.append(self._ref.index)

    def _adopt_provisional(self) -> None:
        """The reference being built takes over with its edit as carried (not inpainted)."""
        self._ref, rgb, shown = self._builder.provisional()
        self._host_ref = (rgb, shown)
        self._prev_map = None
        self.stats.reference_ids.append(self._ref.index)

    def _start(self, rgb: np.ndarray, edited: np.ndarray, index: int, work: np.ndarray,
               landmarks: np.ndarray | None,
               trace: tuple[ops.Origin, Any, Any] | None = None) -> None:
        """Make a host frame and its host edit the reference (uploaded to the editor's side)."""
        xp = self._xp
        rgb_x, work_x = xp.upload_frame(rgb, work)
        mesh = ops.reference_mesh(landmarks, work.shape[1], work.shape[0])
        self._ref = ops.encode_reference(index, rgb_x, xp.from_host(edited), work_x, mesh,
                                         self._model, trace, xp)
        self._host_ref = (rgb, edited)
        self._prev_map = None
        self.stats.reference_ids.append(index)

    def _reinitialize(self, shape: tuple[int, ...]) -> None:
        rgb, edited = self._host_ref
        h, w = shape[:2]
        log.warning("frame %d is %dx%d but the stream was %dx%d: re-initialising the reference "
                    "at the new size", self._index, w, h, rgb.shape[1], rgb.shape[0])
        self._restart(resize_to(rgb, w, h), resize_to(edited, w, h), self._ref.index)
        self.stats.reference_ids.pop()  # the same reference, resized: not a new one
        self.stats.reinitialized += 1

    def _restart(self, rgb: np.ndarray, edited: np.ndarray, index: int) -> None:
        """Fresh tracking and replacement state around a new origin reference."""
        self._forget_stream()
        work = self._work(rgb)
        self._start(rgb, edited, index, work, self._tracker.detect(work))

    def _settle(self) -> None:
        """Let the worker threads finish the frame in hand and forget it: the lagged face mesh
        (it uses the first tracker) and a reference still being built (dropped)."""
        if self._ahead is not None:
            wait([self._ahead])
        self._ahead = None
        self._builder.drop()

    def _forget_stream(self) -> None:
        """Drop what was learnt from earlier frames: tracked face, ARR window, person mask."""
        self._settle()
        for tracker in self._trackers:
            tracker.reset()
        self._policy.reset()
        if self._segmenter is not None:
            self._segmenter.reset()

    def _work(self, rgb: np.ndarray) -> np.ndarray:
        return to_work(rgb, self.config.work_side)

    def _person_mask(self, work: np.ndarray) -> np.ndarray | None:
        """The selfie mask (region "person"), None for the other regions."""
        if self._segmenter is None:
            return None
        with self._timer.stage("segmentation"):
            return self._segmenter.mask(work)

    def _region(self, work: np.ndarray, landmarks: np.ndarray | None,
                person: np.ndarray | None) -> np.ndarray | None:
        region = self.config.replacement.region
        if person is not None and person.any():
            return person
        if region in ("person", "face") and landmarks is not None:
            return face_hull_mask(landmarks, work.shape[1], work.shape[0])
        return None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this StreamEditor is closed: create a new one")

    def _check_started(self) -> None:
        self._check_open()
        if self._ref is None:
            raise RuntimeError("no reference: call set_reference(frame, edited) before process()")
