"""The learned correspondence (PPCE, paper §3.1): two networks, written once over an array side.

``backbone`` encodes a frame into features (a reference's are computed once per reference);
``head`` refines the initial map (the landmark warp refined by classical flow,
:mod:`~streamedit_sdk.correspondence.refiners`) by cross-attention and predicts log-sigma (the
Laplace scale of paper eq. 2). The networks run at the model side (``model.json``: ``side``,
256 px for the shipped model); their correction and sigma are upsampled to the work size and
the correction is added to the work-size initial map, so the classical flow's detail is kept.

The same :class:`PPCECorrespondence` runs on the host (numpy, onnxruntime on the CPU, DIS) and
on a device (torch tensors, the networks through a backend's device path, the Lucas-Kanade
pyramid; optionally replayed as one CUDA graph).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from streamedit_sdk.backends import Backend
from streamedit_sdk.correspondence.base import Correspondence, Lead, ReferenceFeatures
from streamedit_sdk.correspondence.model_folder import ModelInfo
from streamedit_sdk.correspondence.refiners import InitialRefiner
from streamedit_sdk.frames import work_size
from streamedit_sdk.perception.landmarks import face_hull_mask
from streamedit_sdk.sides.base import Array, ArrayOps
from streamedit_sdk.timing import NullTimer, Timer


@dataclass(frozen=True)
class PPCEReference(ReferenceFeatures):
    """Per-reference cache (the model side is hs x ws). refine: the initial refiner's cache;
    small_gray: (1, 1, hs, ws) float32 0..1; features: (1, C, hs/stride, ws/stride) float32;
    all on the estimator's side."""

    refine: Any
    small_gray: Array
    features: Array


def face_at_side(landmarks: np.ndarray | None, w: int, h: int, sw: int, sh: int) -> np.ndarray:
    """(sh, sw) float32 1 inside the hull of ``landmarks`` (work px of a w x h frame) drawn at
    the model side, pixel centres aligned as resize_map does; all 0 without landmarks. The
    head's ``face`` input, as in training (a quarter of the work frame's pixels to fill)."""
    if landmarks is None:
        return np.zeros((sh, sw), np.float32)
    small_lm = (landmarks + 0.5) * np.float32([sw / w, sh / h]) - 0.5
    return face_hull_mask(small_lm, sw, sh).astype(np.float32)


class PPCECorrespondence:
    """:class:`~streamedit_sdk.correspondence.base.CorrespondenceModel` backed by the PPCE
    networks, on the side ``xp``.

    ``info``: the model folder; ``backbone``, ``head``: its networks, opened where the side
    runs (:func:`~streamedit_sdk.correspondence.model_folder.open_networks`); ``refiner``:
    the initial map's refinement for this side; ``timer`` receives the stages ``backbone``
    and ``head`` (and the refiner's), or ``match`` for all of them when ``graphed`` (a
    :class:`~streamedit_sdk.sides.graphs.GraphedFunction` factory, torch on CUDA only)
    records them as one CUDA graph.
    """

    def __init__(self, xp: ArrayOps, info: ModelInfo, backbone: Backend, head: Backend,
                 refiner: InitialRefiner, timer: Timer | None = None, graphed=None) -> None:
        self.info = info
        self._xp = xp
        self._backbone, self._head = backbone, head
        self._refiner = refiner
        self._timer = timer or NullTimer()
        self._graphed = graphed(self._graph_entry) if graphed is not None else None

    def _small(self, h: int, w: int) -> tuple[int, int]:
        return work_size(w, h, self.info.side)

    def _features(self, small: Array, timer: Timer) -> Array:
        """small: (hs, ws, 3) uint8 -> (1, C, ceil(hs/s), ceil(ws/s)) float32 features."""
        hs, ws = small.shape[:2]
        s = self.info.stride
        shape = (1, self.info.channels, -(-hs // s), -(-ws // s))
        with timer.stage("backbone"):
            return self._xp.infer(self._backbone, {"image": self._xp.network_image(small)},
                                  {"features": shape})["features"]

    def encode_reference(self, rgb: Array) -> PPCEReference:
        """rgb: (h, w, 3) uint8 reference at work size, on the estimator's side."""
        xp = self._xp
        sw, sh = self._small(*rgb.shape[:2])
        small = xp.resize_image(rgb, sw, sh)
        return PPCEReference(self._refiner.encode(rgb), xp.nchw(xp.gray(small)),
                             self._features(small, self._timer))

    def begin(self, rgb: Array, reference: ReferenceFeatures, init_map: Array) -> None:
        """None: the network reads the face mask, so nothing starts before the landmarks."""
        return None

    def begun_map(self, begun: object | None) -> None:
        """None: nothing is begun (:meth:`begin`)."""
        return None

    def predict(self, rgb: Array, reference: ReferenceFeatures, init_map: Array,
                landmarks: np.ndarray | None = None, lead: Lead | None = None,
                begun: object | None = None) -> Correspondence:
        """rgb: (h, w, 3) uint8 current frame at work size; init_map: (h, w, 2) float32 ref
        px; landmarks: (478, 2) host work px of the current frame, or None. Map and sigma at
        work size, on the estimator's side. The head's face mask is the landmarks' hull drawn
        at the model side, as in training. ``lead`` makes the edit's map from the network's
        (timer stage ``face_lead``); sigma stays the network's, but for pixels the lead sends
        off the reference, which get the largest sigma."""
        if not isinstance(reference, PPCEReference):
            raise TypeError("reference was encoded by another correspondence model")
        h, w = rgb.shape[:2]
        xp = self._xp
        face = xp.nchw(xp.from_host(face_at_side(landmarks, w, h, *self._small(h, w))))
        if self._graphed is None:
            corr, sigma = self._match(self._timer, rgb, init_map, face, reference)
        else:
            constants = (*reference.refine, reference.small_gray, reference.features)
            with self._timer.stage("match"):
                corr, sigma = self._graphed(reference, constants, (rgb, init_map, face))
        edit_map = None
        if lead is not None:
            with self._timer.stage("face_lead"):
                edit_map = lead(corr)
                sigma = xp.raise_where_off(sigma, edit_map)
        return Correspondence(corr, sigma, edit_map)

    def _graph_entry(self, *args: Any) -> tuple:
        """The recorded function: (refiner cache..., small_gray, features, rgb, init, face)."""
        *refine, small_gray, features, rgb, init_map, face = args
        ref = PPCEReference(tuple(refine), small_gray, features)
        return self._match(NullTimer(), rgb, init_map, face, ref)

    def _match(self, timer: Timer, rgb: Array, init_map: Array, face: Array,
               reference: PPCEReference) -> tuple[Array, Array]:
        """The work of :meth:`predict`: (map (h, w, 2), sigma (h, w)) at work size."""
        xp = self._xp
        h, w = rgb.shape[:2]
        init = self._refiner.refine(rgb, reference.refine, init_map)
        sw, sh = self._small(h, w)
        small = xp.resize_image(rgb, sw, sh)
        init_small = xp.resize_map(init, sw, sh)
        feats = self._features(small, timer)
        with timer.stage("head"):
            out = xp.infer(self._head, {
                "feat_cur": feats, "feat_ref": reference.features,
                "init_map": xp.nchw(init_small), "face": face,
                "cur_gray": xp.nchw(xp.gray(small)), "ref_gray": reference.small_gray},
                {"map": (1, 2, sh, sw), "log_sigma": (1, 1, sh, sw)})
            correction = xp.hwc(out["map"]) - init_small
            corr = init + xp.scale_displacement(correction, w, h)
            sigma = xp.resize_image(xp.exp(xp.hwc(out["log_sigma"])), w, h)
        return corr, sigma

    def close(self) -> None:
        self._backbone.close()
        self._head.close()
