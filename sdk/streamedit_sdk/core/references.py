"""The reference lifecycle of one stream: the user's reference, ARR's replacements, the swap.

:class:`References` holds the current reference (on the editor's side) with its host frame and
edit, asks the :class:`~.policy.ReplacementPolicy` whether a frame should become the next
one, and has the :class:`~.builder.ReferenceBuilder` make it (at once, or on a worker with
``swap_delay``). Every method that puts a new reference in use returns its stream index, so
the editor can count it and drop the previous frame's map (it pointed into the old one).
"""

from __future__ import annotations

import logging

from streamedit_sdk.config import FaceLead, ReplacementConfig
from streamedit_sdk.core import ops
from streamedit_sdk.core.builder import ReferenceBuilder
from streamedit_sdk.core.inpaint import EditInpainter
from streamedit_sdk.core.match import FrameMatch
from streamedit_sdk.core.policy import ReplacementPolicy
from streamedit_sdk.correspondence.base import CorrespondenceModel
from streamedit_sdk.perception.landmarks import WarpMesh
from streamedit_sdk.sides.base import ArrayOps, HostImage
from streamedit_sdk.timing import Timer

log = logging.getLogger(__name__)


class References:
    """One stream's references (see the module docstring). Not thread-safe."""

    def __init__(self, xp: ArrayOps, model: CorrespondenceModel, inpainter: EditInpainter,
                 config: ReplacementConfig, timer: Timer,
                 face_lead: FaceLead | None = None) -> None:
        self._xp, self._model, self._cfg, self._timer = xp, model, config, timer
        self._builder = ReferenceBuilder(xp, model, inpainter, config, face_lead)
        self._policy = ReplacementPolicy(config)
        self.current: ops.Reference | None = None
        self.host: tuple[HostImage, HostImage] | None = None  # frame, edit (host, RGB)
        self._origin: tuple[ops.Reference, tuple[HostImage, HostImage]] | None = None

    def begin(self, rgb: HostImage, edited: HostImage, index: int, work: HostImage,
              mesh: WarpMesh | None) -> None:
        """Make a host frame and its host edit the reference, with no trace: the origin of
        every later reference's edit (uploaded to the editor's side)."""
        xp = self._xp
        rgb_x, work_x = xp.upload_frame(rgb, work)
        self.current = ops.encode_reference(index, rgb_x, xp.from_host(edited), work_x, mesh,
                                            self._model, None, xp)
        self.host = (rgb, edited)
        self._origin = (self.current, self.host)

    def use_inpainter(self, inpainter: EditInpainter) -> None:
        """Fill later references' unseen content with ``inpainter`` (from the next
        replacement on; one being built keeps its own)."""
        self._builder.inpainter = inpainter

    def swap(self, index: int) -> int | None:
        """Before frame ``index`` is matched: a reference being built takes over when due
        (with its inpainted edit), or provisionally the frame after it was picked (with its
        edit as carried). Returns the index of a reference newly in use, or None."""
        if self._builder.due(index):
            with self._timer.stage("reference_swap"):
                return self._adopt()
        if self._builder.takes_over(index):
            with self._timer.stage("reference_swap"):
                self.current, rgb, shown = self._builder.provisional()
                self.host = (rgb, shown)
                return self.current.index
        return None

    def face_returns(self, landmarks) -> int | None:
        """Before a frame with ``landmarks`` (None: no face) is matched: when the reference in
        use shows no face (taken while the face was away) and the user's edited frame does,
        that frame is the reference again, so the edit comes back through the face mesh whole,
        as drawn, instead of through maps of a frame without a face. Returns its index, or
        None."""
        if (landmarks is None or self.current.mesh is not None or self._origin is None
                or self._origin[0].mesh is None or self._builder.pending is not None):
            return None
        self.current, self.host = self._origin
        self._policy.reset()
        log.info("the face is back: the user's edited frame %d is the reference again",
                 self.current.index)
        return self.current.index

    def wants(self, fraction: float, index: int) -> bool:
        """Whether frame ``index``, with this uncertain ``fraction``, should become the next
        reference (ARR's decision; never while another is being built)."""
        return (self._policy.update(fraction, abs(index - self.current.index))
                and self._builder.pending is None)

    def replace(self, index: int, match: FrameMatch) -> tuple[HostImage, int | None]:
        """Make frame ``index`` (its ``match`` against the current reference) the reference
        (ARR). Returns this frame's output (host) and the index of a reference newly in use:
        with ``swap_delay`` 0 the frame's inpainted edit and ``index``; else the edit as
        carried and None (the next frame takes the new reference, and frame ``swap_delay``
        after this one its inpainted edit, made on a worker meanwhile)."""
        self._builder.start(index, self.current, match)
        log.info("frame %d: uncertain fraction %.3f, new reference (was frame %d)",
                 index, self._policy.windowed, self.current.index)
        self._policy.replaced()
        if self._cfg.swap_delay:
            return match.edited, None
        new = self._adopt()
        return self.host[1], new

    def settle(self) -> None:
        """Drop a reference still being built (after its worker is done with it)."""
        self._builder.drop()

    def forget(self) -> None:
        """A new stream: the replacement window and hysteresis start over."""
        self.settle()
        self._policy.reset()

    def close(self) -> None:
        self._builder.close()

    def _adopt(self) -> int | None:
        """The reference being built takes over with its inpainted edit (waits for it).
        Returns its index, or None when its provisional form was in use already."""
        provisional = self._builder.provisional_in_use
        self.current, rgb, edited = self._builder.finish(self.current)
        self.host = (rgb, edited)
        return None if provisional else self.current.index
