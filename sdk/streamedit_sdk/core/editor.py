"""StreamEditor: carries the edit of one reference frame onto every later frame of a stream.

A thin sequencer: the :class:`~.observe.FrameObserver` measures each frame, :func:`~.match.
match_frame` matches it against the current reference and carries the edit, and
:class:`~.references.References` decides on and makes new references (ARR).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from streamedit_sdk.config import EditorConfig, Mode
from streamedit_sdk.core import heap, ops
from streamedit_sdk.core.fade import SwitchFade
from streamedit_sdk.core.guard import SingleThreadGuard
from streamedit_sdk.core.inpaint import (EditInpainter, Inpainter, NewContentPainter,
                                         OpenCVInpainter, as_edit_inpainter)
from streamedit_sdk.core.match import FrameMatch, match_frame, starts_from_previous
from streamedit_sdk.core.observe import FrameObserver, Observation
from streamedit_sdk.core.references import References
from streamedit_sdk.core.results import EditorStats, EditResult
from streamedit_sdk.core.unseen import follow_unseen
from streamedit_sdk.core.visibility import VisibilityJudge
from streamedit_sdk.correspondence.factory import open_correspondence
from streamedit_sdk.errors import NoFaceError
from streamedit_sdk.frames import from_rgb, looks_red_blue_swapped, resize_to, to_rgb
from streamedit_sdk.sides.base import Array
from streamedit_sdk.timing import NullTimer, Timer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Begun:
    """A frame's correspondence begun beside its face mesh: against ``reference`` from
    ``prior`` (valid while both are still the editor's), the model's ``begun``."""

    reference: ops.Reference
    prior: Array
    begun: object

    def holds(self, reference: ops.Reference, prior: Array | None) -> bool:
        """Whether it was begun against ``reference`` from ``prior`` (the editor's now)."""
        return self.reference is reference and self.prior is prior


class StreamEditor:
    """Edit propagation for one stream, in the MediaPipe manner.

    >>> with StreamEditor(EditorConfig()) as ed:
    ...     ed.set_reference(frame0, edited0)
    ...     for frame in frames:
    ...         out = ed.process(frame).frame

    Frames are uint8 (H, W, 3) RGB (``EditorConfig.color_order="bgr"`` for OpenCV frames);
    grayscale and RGBA frames are converted. Thread-safety: one editor per stream, used from one
    thread at a time (a call from a second thread while one is inside raises RuntimeError);
    several editors may run in one process (each owns its MediaPipe graphs).
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
        if cfg.keep_frame_buffers:
            heap.keep_frame_buffers()
        self._timer = timer or NullTimer()
        self._xp, self._model = open_correspondence(cfg, self._timer)
        self._inpaint = as_edit_inpainter(
            inpainter or OpenCVInpainter(cfg.replacement.inpaint_radius))
        self._observer = FrameObserver(cfg, self._timer, self._xp.resizes_uploads)
        self._refs = References(self._xp, self._model, self._inpaint, cfg.replacement,
                                self._timer, cfg.face_lead)
        self._judge = VisibilityJudge(cfg.visibility) if cfg.visibility is not None else None
        self._fade = SwitchFade(cfg.replacement.fade_frames)
        self._painter: NewContentPainter | None = None  # draws the edit on content no
        # reference saw, frame by frame (an edit the SDK can make itself: a built-in style)
        self._initial: tuple[np.ndarray, np.ndarray, int] | None = None  # the user's
        self._initial_face = False  # the user's reference frame showed a face
        self._prev_map: Array | None = None  # the last frame's map: the next one's prior
        # process() starts the correspondence from the prior while the face mesh measures
        self._begins_beside_mesh = starts_from_previous(cfg) and not cfg.lagged_landmarks
        self._index = 0
        self.stats = EditorStats()
        self._closed = False
        self._guard = SingleThreadGuard("StreamEditor")

    # -- public API -------------------------------------------------------------------------
    def set_reference(self, frame: np.ndarray, edited: np.ndarray, *, index: int = 0,
                      mode: Mode | None = None, needs_face: bool = True,
                      inpainter: Inpainter | EditInpainter | None = None) -> None:
        """Take ``frame`` as the reference and ``edited`` as its edit.

        Both (H, W, 3) uint8 in the configured channel order, same size. ``index`` is the stream
        index of ``frame`` (reported as ``reference_id``). ``mode``: the propagation mode
        (:attr:`EditorConfig.mode`) from this edit on, e.g. a live stream switching from a
        style (replace) to a sticker (residual); None keeps the editor's. ``needs_face``:
        False takes a frame without a face too (an edit of the whole frame, such as a style,
        is then carried by optical flow alone; :attr:`reference_has_face` tells).
        ``inpainter``: what fills the content later references did not see, for this edit
        (e.g. :class:`~streamedit_sdk.edits.fill.StyleFill`: the style itself, for a built-in
        style); None: the one the editor was made with. Raises
        :class:`NoFaceError` when the frame shows no face and ``needs_face``, and
        ``ValueError`` when the sizes differ or the mode is unknown; either way the editor
        keeps its reference and mode. An edit whose unedited pixels match the frame only with
        red and blue swapped (a BGR image given as RGB) is logged as a warning.
        """
        with self._guard("set_reference"):
            config = self.config if mode is None else dataclasses.replace(self.config, mode=mode)
            fill = self._inpaint if inpainter is None else as_edit_inpainter(inpainter)
            self._set_reference(frame, edited, index, needs_face)
            self.config = config
            self._refs.use_inpainter(fill)
            self._painter = fill if isinstance(fill, NewContentPainter) else None

    @property
    def reference_has_face(self) -> bool:
        """Whether the frame given to :meth:`set_reference` showed a face (kept after
        :meth:`close`)."""
        return self._initial_face

    def _set_reference(self, frame: np.ndarray, edited: np.ndarray, index: int,
                       needs_face: bool = True) -> None:
        self._check_open()
        self._settle()
        rgb = to_rgb(frame, self.config.color_order, name="reference frame")
        edit = to_rgb(edited, self.config.color_order, name="edited reference")
        if edit.shape != rgb.shape:
            raise ValueError(
                f"edited reference is {edit.shape[1]}x{edit.shape[0]} but the reference frame is "
                f"{rgb.shape[1]}x{rgb.shape[0]}: resize the edit to the frame size or pick the "
                "frame it was made from (--ref-frame)")
        if looks_red_blue_swapped(rgb, edit):
            log.warning("the edited reference looks like the frame with red and blue swapped "
                        "(a BGR image given as RGB?): the output will show it so; pass both "
                        "in one channel order (EditorConfig.color_order)")
        work = self._observer.work(rgb)
        landmarks = self._observer.detect(rgb, work)
        if landmarks is None and needs_face:
            raise NoFaceError(f"no face found in the reference frame (stream index {index}): "
                              "pick a frame that shows the face (--ref-frame N)")
        if landmarks is None:
            log.info("no face in the reference frame %d: the edit is carried by optical "
                     "flow alone", index)
        self._initial = (rgb, edit, index)
        self._initial_face = landmarks is not None
        self._begin(rgb, edit, index, work, landmarks)

    def process(self, frame: np.ndarray) -> EditResult:
        """Edit the next frame of the stream. Never drops a frame: one result per call.

        Raises ``RuntimeError`` when another thread is inside this editor (one editor, one
        thread at a time)."""
        with self._guard("process"):
            self._check_started()
            with self._timer.stage("convert"):
                rgb = to_rgb(frame, self.config.color_order)
            if rgb.shape != self._refs.host[0].shape:
                self._reinitialize(rgb.shape)
            if self._begins_beside_mesh and self._prev_map is not None:
                return self._edit(*self._begin_beside_mesh(rgb))
            return self._edit(self._observer.next(rgb))

    def _begin_beside_mesh(self, rgb: np.ndarray) -> tuple[Observation, _Begun]:
        """Measure the frame on the mesh thread while its correspondence starts here from the
        previous frame's map (two cores: the face mesh uses one)."""
        work, measured = self._observer.begin(rgb)
        try:
            ref, prior = self._refs.current, self._prev_map
            begun = _Begun(ref, prior, self._model.begin(work, ref.features, prior))
        except BaseException:
            wait([measured])  # the face mesh is never left running past this frame
            raise
        with self._timer.stage("landmarks_wait"):
            return measured.result(), begun

    def stream(self, frames: Iterable[np.ndarray], *,
               pipelined: bool = True) -> Iterator[EditResult]:
        """Edit every frame of ``frames`` in order, one :class:`EditResult` each.

        ``pipelined``: measure the next frames (landmarks, person mask) on worker threads while
        frame t is matched and propagated, and (the flow started from the previous frame's
        map) begin frame t + 1's correspondence on another; faster on two or more cores. With
        one landmark thread (the default) the results are those of :meth:`process` on each
        frame, and each output waits for the next input frame.
        ``EditorConfig.landmark_threads`` = k measures k frames at once (one face mesh each,
        frames dealt round-robin, so landmarks differ slightly from one mesh's); each output
        then waits for k further input frames.
        """
        self._check_started()
        if not pipelined:
            for frame in frames:
                yield self.process(frame)
            return
        observer = self._observer
        it = iter(frames)
        k = len(observer.trackers)
        dealt = 0
        pending: deque[Future] = deque()
        ahead: Future | None = None  # the next frame's correspondence, begun on the flow thread
        with ThreadPoolExecutor(k, thread_name_prefix="streamedit-observe") as pool, \
                ThreadPoolExecutor(1, thread_name_prefix="streamedit-flow") as flow:

            def submit() -> None:
                nonlocal dealt
                frame = next(it, None)
                if frame is not None:
                    tracker = observer.trackers[dealt % k]
                    pending.append(pool.submit(observer.convert_observe, frame, tracker))
                    dealt += 1

            for _ in range(k):
                submit()
            try:
                while pending:
                    obs = pending.popleft().result()
                    begun = None if ahead is None else ahead.result()
                    ahead = None
                    if obs.rgb.shape != self._refs.host[0].shape:
                        # new frame size: let the workers finish, then redo their frames in
                        # order on this thread with the re-initialised trackers
                        later = [f.result() for f in pending]
                        pending.clear()
                        for o in (obs, *later):
                            if o.rgb.shape != self._refs.host[0].shape:
                                self._reinitialize(o.rgb.shape)
                            yield self._edit(observer.lagged_observed(observer.observe(o.rgb)))
                        for _ in range(k):
                            submit()
                        continue
                    submit()
                    if self._begins_beside_mesh:
                        begun = self._begun_for(obs, begun)
                        prior = None if begun is None else self._model.begun_map(begun.begun)
                        if prior is not None and pending:  # frame t + 1 begins meanwhile
                            ahead = flow.submit(self._begin_from, pending[0], begun.reference,
                                                prior)
                    yield self._edit(observer.lagged_observed(obs), begun)
            finally:
                for f in pending:  # the consumer stopped early; the pool waits for the rest
                    f.cancel()

    def _begun_for(self, obs: Observation, begun: _Begun | None) -> _Begun | None:
        """What :meth:`process` begins beside the face mesh for the frame ``obs``: ``begun``
        (made ahead on the flow thread) while it is against the current reference from the
        current prior, else made here; None where the frame has no prior map."""
        ref, prior = self._refs.current, self._prev_map
        if prior is None:
            return None
        if begun is not None and begun.holds(ref, prior):
            return begun
        return _Begun(ref, prior, self._model.begin(obs.work, ref.features, prior))

    def _begin_from(self, measured: Future, ref: ops.Reference, prior: Array) -> _Begun | None:
        """The correspondence of the frame being ``measured``, begun (on the flow thread)
        against ``ref`` from ``prior``, the map of the frame before it once that one is
        edited (unless a replacement or a swap comes between: it is then begun again).
        None for a frame of another size (the stream re-initialises there)."""
        obs = measured.result()
        if obs.work.shape[:2] != prior.shape[:2]:
            return None
        return _Begun(ref, prior, self._model.begin(obs.work, ref.features, prior))

    @property
    def reference_edit(self) -> np.ndarray:
        """(H, W, 3) uint8 the edit of the current reference, in the configured channel order
        (the user's edit, or the one a replacement made for its frame; with ``swap_delay``,
        as carried until its inpainted form is in)."""
        self._check_started()
        return from_rgb(self._refs.host[1], self.config.color_order).copy()

    def reset(self) -> None:
        """Start a new stream with the reference given to :meth:`set_reference`."""
        with self._guard("reset"):
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
        with self._guard("close"):
            if self._closed:
                return
            self._closed = True
            self._settle()
            self._refs.close()
            self._observer.close()
            self._model.close()

    def __enter__(self) -> "StreamEditor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sequencing -------------------------------------------------------------------------
    def _edit(self, obs: Observation, begun: _Begun | None = None) -> EditResult:
        with self._guard("stream"):
            return self._edit_unguarded(obs, begun)

    def _edit_unguarded(self, obs: Observation, begun: _Begun | None = None) -> EditResult:
        """Match the observed frame to the reference, carry the edit, decide on ARR.
        ``begun``: its correspondence begun beside the face mesh, or None."""
        self._took(self._refs.swap(self._index))
        back = self._refs.face_returns(obs.landmarks)
        if back is not None:
            self.stats.returns.append((self._index, back))
        self._took(back)
        if begun is not None and not begun.holds(self._refs.current, self._prev_map):
            begun = None  # the reference changed meanwhile: matched afresh against the new one
        match = match_frame(self._xp, self._model, self._refs.current, obs, self._prev_map,
                            self.config, self._timer, None if begun is None else begun.begun,
                            self._judge)
        if obs.landmarks is None:
            self.stats.faces_lost += 1
        if not match.finite:
            return self._pass_through(match)
        self._prev_map = match.corr_map
        edited = match.edited
        if self.config.mode == "replace":
            with self._timer.stage("unseen"):
                edited = follow_unseen(match, self._xp, self.config.replacement,
                                       self._painter)
                if self._fade.running(self._refs.current.index):  # (the map is downloaded
                    edited = self._fade.apply(  # only while a fade runs)
                        self._refs.current.index, edited, self._xp.to_host(match.full_map),
                        None if match.view is None else match.view.visible)
        vis = self.config.visibility
        held = (vis is not None and match.view is not None
                and match.view.hidden_share > vis.hold_above)  # an occluder: not adopted
        replaced = self._refs.wants(match.fraction, self._index) and not held
        if replaced:
            with self._timer.stage("reference_update"):
                edited, new = self._refs.replace(self._index, match)
            self._took(new)
            self._fade.switched(self._index, edited.copy())
        return self._result(EditResult(
            from_rgb(edited, self.config.color_order), match.full_map, match.sigma,
            self._refs.current.index, replaced, obs.landmarks is not None, match.fraction,
            self._index, visibility=None if match.view is None else match.view.visible,
            hidden_share=0.0 if match.view is None else match.view.hidden_share))

    def _pass_through(self, match: FrameMatch) -> EditResult:
        """The input frame, unedited, when the model's output was not finite."""
        self.stats.engine_faults += 1
        self._prev_map = None  # not the next frame's prior
        if self.stats.engine_faults in (1, 10, 100, 1000):
            log.warning("frame %d: the correspondence model returned NaN or infinite values "
                        "(%d frames so far): the frame is passed through unedited", self._index,
                        self.stats.engine_faults)
        obs = match.obs
        return self._result(EditResult(
            from_rgb(obs.rgb, self.config.color_order), match.full_map, match.sigma,
            self._refs.current.index, False, obs.landmarks is not None, 0.0, self._index,
            passed_through=True))

    def _result(self, result: EditResult) -> EditResult:
        self._index += 1
        self.stats.frames += 1
        return result

    def _took(self, index: int | None) -> None:
        """A new reference (stream ``index``) is in use: count it; the last map pointed into
        the old one, so it is no prior."""
        if index is not None:
            self._prev_map = None
            self.stats.reference_ids.append(index)

    def _begin(self, rgb: np.ndarray, edited: np.ndarray, index: int, work: np.ndarray,
               landmarks: np.ndarray | None) -> None:
        """Make a host frame and its host edit the origin reference."""
        self._refs.begin(rgb, edited, index, work,
                         ops.reference_mesh(landmarks, work.shape[1], work.shape[0]))
        self._took(index)
        self._fade.clear()

    def _reinitialize(self, shape: tuple[int, ...]) -> None:
        rgb, edited = self._refs.host
        h, w = shape[:2]
        log.warning("frame %d is %dx%d but the stream was %dx%d: re-initialising the reference "
                    "at the new size", self._index, w, h, rgb.shape[1], rgb.shape[0])
        self._restart(resize_to(rgb, w, h), resize_to(edited, w, h), self._refs.current.index)
        self.stats.reference_ids.pop()  # the same reference, resized: not a new one
        self.stats.reinitialized += 1

    def _restart(self, rgb: np.ndarray, edited: np.ndarray, index: int) -> None:
        """Fresh tracking and replacement state around a new origin reference."""
        self._forget_stream()
        work = self._observer.work(rgb)
        self._begin(rgb, edited, index, work, self._observer.detect(rgb, work))

    def _settle(self) -> None:
        """Let the worker threads finish the frame in hand and forget it: the lagged face mesh
        and a reference still being built (dropped)."""
        self._observer.settle()
        self._refs.settle()

    def _forget_stream(self) -> None:
        """Drop what was learnt from earlier frames: tracked face, ARR window, person mask."""
        self._observer.reset()
        self._refs.forget()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this StreamEditor is closed: create a new one")

    def _check_started(self) -> None:
        self._check_open()
        if self._refs.current is None:
            raise RuntimeError("no reference: call set_reference(frame, edited) before process()")
