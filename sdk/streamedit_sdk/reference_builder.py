"""Building the reference ARR picked (paper §3.2-3.3), at once or on a worker thread.

The decision to replace is :class:`~.replacement.ReplacementPolicy`'s; this module does the
work. The device work runs on the frame's thread when the frame is picked: the edit traced to
the origin, the frame re-matched against it, the downloads started. The host half (the edit
inpainted where the old reference did not see, the frame's landmarks triangulated) runs there
too with ``swap_delay`` 0, or on the builder's worker thread while ``swap_delay`` more frames
use the old reference. The new reference is encoded when it takes over.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import numpy as np

from . import ops
from .arrays import ArrayOps
from .config import ReplacementConfig
from .correspondence import CorrespondenceModel
from .inpaint import EditInpainter
from .landmarks import WarpMesh


@dataclass(frozen=True)
class NewReference:
    """A frame on its way to becoming the reference.

    index: its stream index; swap_at: the first stream index matched against it; rgb: (H, W, 3)
    uint8 host copy; frame, work: the frame and its work-size version on the editor's side;
    landmarks: returns the frame's own landmarks (work px); built: (edited (H, W, 3) uint8
    host, trace for :func:`~.ops.encode_reference`, the landmarks' mesh or None), being made
    on the worker, or done.
    """

    index: int
    swap_at: int
    rgb: np.ndarray
    frame: Any
    work: Any
    landmarks: Callable[[], np.ndarray | None]
    built: Future


class ReferenceBuilder:
    """One stream's reference replacements: :meth:`start` when ARR picks a frame, :meth:`due`
    on every later frame, :meth:`finish` when it is due (or at once with ``swap_delay`` 0)."""

    def __init__(self, xp: ArrayOps, model: CorrespondenceModel, inpainter: EditInpainter,
                 config: ReplacementConfig) -> None:
        self._xp, self._model, self._inpainter, self._cfg = xp, model, inpainter, config
        self._pool = (ThreadPoolExecutor(1, thread_name_prefix="streamedit-reference")
                      if config.swap_delay else None)
        self.pending: NewReference | None = None

    def start(self, index: int, ref: ops.Reference, carried: ops.CarriedEdit, corr_map: Any,
              full_map: Any, sigma: Any, frame: Any, work: Any, rgb: np.ndarray,
              output: np.ndarray, landmarks: Callable[[], np.ndarray | None],
              size: tuple[int, int]) -> None:
        """Start making frame ``index`` the reference.

        ref: the current reference; carried, corr_map (work px), full_map (full-size px),
        sigma (H, W): the frame's match to it; frame, work: the frame on the editor's side
        (the host ones may be the caller's buffers: ``rgb`` replaces them); rgb (H, W, 3)
        uint8: the frame on the host; output (H, W, 3) uint8 host: its edited output;
        landmarks: returns its own landmarks (work px); size: work (width, height).
        """
        xp, cfg = self._xp, self._cfg
        if carried.delta is None:
            carried = ops.carry_edit(ref, corr_map, full_map, xp)
        if ref.to_origin is not None:
            carried = dataclasses.replace(carried, to_origin_work=ops.retrace_to_origin(
                ref.origin, carried, work, self._model))
        fetch = xp.download_later(carried.delta, carried.known, sigma > cfg.inpaint_sigma)
        own = rgb.copy()  # the caller may reuse its buffers; host sides keep this copy
        build = partial(self._build, ref, carried.to_origin_work, fetch, own, output.copy(),
                        landmarks, size)
        if self._pool is not None:
            built = self._pool.submit(build)
        else:
            built = Future()
            built.set_result(build())
        self.pending = NewReference(index, index + cfg.swap_delay, own,
                                    own if frame is rgb else frame, own if work is rgb else work,
                                    landmarks, built)

    def due(self, index: int) -> bool:
        """Whether the reference being built takes over at stream index ``index``."""
        return self.pending is not None and index >= self.pending.swap_at

    def finish(self) -> tuple[ops.Reference, np.ndarray, np.ndarray]:
        """The built reference (waits for its host half), with its frame and edit (host)."""
        new, xp = self.pending, self._xp
        edited, (origin, to_origin, known), mesh = new.built.result()
        self.pending = None
        ref = ops.encode_reference(new.index, new.frame, xp.from_host(edited), new.work,
                                   new.landmarks(), self._model,
                                   (origin, to_origin, xp.from_host(known)), xp, mesh)
        return ref, new.rgb, edited

    def drop(self) -> None:
        """Forget a reference being built (after its worker is done with it)."""
        if self.pending is not None:
            wait([self.pending.built])
        self.pending = None

    def close(self) -> None:
        self.drop()
        if self._pool is not None:
            self._pool.shutdown()

    def _build(self, ref: ops.Reference, to_origin_work: Any, fetch: Callable[[], tuple],
               rgb: np.ndarray, output: np.ndarray, landmarks: Callable[[], np.ndarray | None],
               size: tuple[int, int]
               ) -> tuple[np.ndarray, tuple[ops.Origin, Any, np.ndarray], WarpMesh | None]:
        """The host half (any thread): the new edit, inpainted where the old reference did
        not see (:func:`~.ops.edit_for_new_reference`), and the mesh of the landmarks."""
        delta, known, unseen = fetch()
        carried = ops.CarriedEdit(None, known, delta, to_origin_work)
        edited, trace = ops.edit_for_new_reference(ref, carried, rgb, output, unseen,
                                                   self._inpainter)
        points = landmarks()
        mesh = None if points is None else WarpMesh.build(points, *size)
        return edited, trace, mesh
