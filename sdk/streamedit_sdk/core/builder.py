"""Building the reference ARR picked (paper §3.2-3.3), at once or on a worker thread.

The decision to replace is :class:`~.policy.ReplacementPolicy`'s; this module does the work.
The device work runs on the frame's thread when frame t is picked: the edit traced to the
origin, the frame re-matched against it, the downloads started. The host half (the
triangulation of its landmarks, then its edit inpainted where the old reference did not see)
runs there too with ``swap_delay`` 0, and the new reference takes over at once. With
``swap_delay`` d > 0 it runs on the builder's worker thread: frame t + 1 takes the new
reference with its edit as carried (not inpainted) and frame t + d gets the inpainted edit.
Only the edit differs meanwhile: the reference's frame, features, mesh and trace to the origin
are final from t + 1, so the maps, and the output from t + d on, are those of ``swap_delay``
0.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from streamedit_sdk.config import FaceLead, ReplacementConfig
from streamedit_sdk.core import ops
from streamedit_sdk.core.inpaint import EditInpainter
from streamedit_sdk.core.match import FrameMatch
from streamedit_sdk.core.observe import resolved
from streamedit_sdk.correspondence.base import CorrespondenceModel
from streamedit_sdk.perception.landmarks import WarpMesh
from streamedit_sdk.sides.base import Array, ArrayOps


@dataclass(frozen=True)
class NewReference:
    """A frame on its way to becoming the reference.

    index: its stream index; swap_at: the first stream index that gets its inpainted edit;
    rgb: (H, W, 3) uint8 host copy; frame, work: the frame and its work-size version on the
    editor's side; mesh: its :func:`~.ops.reference_mesh`, being made on the worker (first,
    before the inpainting), or done; built: (edited (H, W, 3) uint8 host, trace for
    :func:`~.ops.encode_reference`), being made on the worker, or done; carried: (the frame's
    output on the editor's side, its host copy, the trace with the known mask made on the
    editor's side): the provisional reference, or None with ``swap_delay`` 0.
    """

    index: int
    swap_at: int
    rgb: np.ndarray
    frame: Array
    work: Array
    mesh: Future
    built: Future
    carried: tuple[Array, np.ndarray, tuple[ops.Origin, Array, Array]] | None


class ReferenceBuilder:
    """One stream's reference replacements: :meth:`start` when ARR picks a frame; on every
    later frame :meth:`takes_over` (then :meth:`provisional`) and :meth:`due` (then
    :meth:`finish`); with ``swap_delay`` 0, :meth:`finish` at once."""

    def __init__(self, xp: ArrayOps, model: CorrespondenceModel, inpainter: EditInpainter,
                 config: ReplacementConfig, face_lead: FaceLead | None = None) -> None:
        """``face_lead``: the editor's; new references are traced to the origin with it."""
        self._xp, self._model, self.inpainter, self._cfg = xp, model, inpainter, config
        self._lead = face_lead
        self._pool = (ThreadPoolExecutor(1, thread_name_prefix="streamedit-reference")
                      if config.swap_delay else None)
        self.pending: NewReference | None = None
        self._provisional = False  # the pending reference's provisional form is in use

    def start(self, index: int, ref: ops.Reference, match: FrameMatch) -> None:
        """Start making frame ``index``, matched against the current reference ``ref`` as
        ``match``, the reference. Its host frame is copied (the caller may reuse its buffers);
        its own landmarks are read on the worker, where they may wait for its face mesh."""
        xp, cfg = self._xp, self._cfg
        carried, frame, work, rgb = match.carried, match.frame, match.work, match.obs.rgb
        if ref.to_origin is not None:
            carried = dataclasses.replace(carried, to_origin_work=ops.retrace_to_origin(
                ref.origin, carried, work, self._model, match.obs.landmarks, self._lead, xp))
        unseen = match.sigma > cfg.inpaint_sigma
        fetch = xp.download_later(carried.delta, carried.known, unseen)
        own = rgb.copy()  # the caller may reuse its buffers; host sides keep these copies
        shown = match.edited.copy()
        build = partial(self._build, self.inpainter, ref, carried.to_origin_work, fetch, own, shown,
                        match.obs.own_landmarks)
        wh, ww = carried.to_origin_work.shape[:2]
        triangulate = partial(_mesh_of, match.obs.own_landmarks, ww, wh)
        provisional = None
        if self._pool is not None:
            mesh = self._pool.submit(triangulate)  # first: the next frame needs it
            built = self._pool.submit(build)
            _, known_work = ops.known_after_replacement(carried.known, unseen, (ww, wh), xp)
            provisional = (shown if match.output is match.edited else match.output, shown,
                           (ref.origin, carried.to_origin_work, known_work))
        else:
            mesh, built = resolved(triangulate()), resolved(build())
        self.pending = NewReference(index, index + cfg.swap_delay, own,
                                    own if frame is rgb else frame, own if work is rgb else work,
                                    mesh, built, provisional)
        self._provisional = False

    @property
    def provisional_in_use(self) -> bool:
        """Whether the pending reference's provisional form is the editor's reference."""
        return self._provisional

    def takes_over(self, index: int) -> bool:
        """Whether the pending reference is used, provisionally, from stream index ``index``
        (the frame after the one picked, when its inpainted edit is due later)."""
        return (self.pending is not None and not self._provisional
                and self.pending.carried is not None and self.pending.index < index
                and not self.due(index))

    def provisional(self) -> tuple[ops.Reference, np.ndarray, np.ndarray]:
        """The pending reference with its edit as carried (not inpainted), with its frame
        and that edit (host); :meth:`finish` later gives it the inpainted edit."""
        new, xp = self.pending, self._xp
        output, shown, trace = new.carried
        self._provisional = True
        ref = ops.encode_reference(new.index, new.frame, output, new.work, new.mesh.result(),
                                   self._model, trace, xp)
        return ref, new.rgb, shown

    def due(self, index: int) -> bool:
        """Whether the reference being built takes over at stream index ``index``."""
        return self.pending is not None and index >= self.pending.swap_at

    def finish(self, current: ops.Reference) -> tuple[ops.Reference, np.ndarray, np.ndarray]:
        """The built reference (waits for its host half), with its frame and edit (host):
        ``current`` with the inpainted edit when it is the provisional form, else encoded."""
        new, xp = self.pending, self._xp
        edited, (origin, to_origin, known) = new.built.result()
        self.pending = None
        edited_x = xp.from_host(edited)
        if self._provisional:
            known_x = xp.from_host(known)
            ref = dataclasses.replace(current, edited=edited_x,
                                      delta=xp.subtract(edited_x, current.rgb), known=known_x,
                                      base=ops.replace_base(current.rgb, origin, to_origin,
                                                            known_x, xp))
        else:
            ref = ops.encode_reference(new.index, new.frame, edited_x, new.work,
                                       new.mesh.result(), self._model,
                                       (origin, to_origin, xp.from_host(known)), xp)
        self._provisional = False
        return ref, new.rgb, edited

    def drop(self) -> None:
        """Forget a reference being built (after its worker is done with it)."""
        if self.pending is not None:
            wait([self.pending.mesh, self.pending.built])
        self.pending = None
        self._provisional = False

    def close(self) -> None:
        self.drop()
        if self._pool is not None:
            self._pool.shutdown()

    def _build(self, inpainter: EditInpainter, ref: ops.Reference, to_origin_work: Array,
               fetch: Callable[[], tuple], rgb: np.ndarray, output: np.ndarray,
               landmarks: Callable[[], np.ndarray | None]
               ) -> tuple[np.ndarray, tuple[ops.Origin, Array, np.ndarray]]:
        """The host half (any thread): the new edit, inpainted where the old reference did
        not see (:func:`~.ops.edit_for_new_reference`); ``landmarks``: the frame's own."""
        delta, known, unseen = fetch()
        carried = ops.CarriedEdit(None, known, delta, to_origin_work)
        return ops.edit_for_new_reference(ref, carried, rgb, output, unseen, inpainter,
                                          landmarks() if self._lead is not None else None)


def _mesh_of(landmarks: Callable[[], np.ndarray | None], width: int,
             height: int) -> WarpMesh | None:
    return ops.reference_mesh(landmarks(), width, height)
