"""The correspondence that needs no weights (``EditorConfig(correspondence="flow")``).

:class:`FlowCorrespondence`: the landmark map (barycentric warp over the face mesh, border
anchors elsewhere) initialises OpenCV's DIS optical flow, which refines it over the whole frame,
and a few Lucas-Kanade steps at full work resolution refine that (DIS at preset FAST stops at a
quarter of the resolution); the uncertainty is the Laplace scale of the photometric residual
that remains (its maximum-likelihood estimate over a small window, the quantity the paper's
eq. 2 learns to predict). The learned PPCE plugs in behind the same two calls.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from streamedit_sdk import kernels
from streamedit_sdk.correspondence.base import Correspondence, Lead, ReferenceFeatures
from streamedit_sdk.maps import identity_map, off_reference
from streamedit_sdk.timing import NullTimer, Timer


@dataclass(frozen=True)
class FlowReference(ReferenceFeatures):
    """The weight-free estimator's cache of a reference. gray: (h, w) uint8 at work size."""

    gray: np.ndarray


@dataclass(frozen=True)
class FlowBegun:
    """:meth:`FlowCorrespondence.begin` of a frame: map (h, w, 2) float32 reference px, DIS
    and Lucas-Kanade's; sigma (h, w) float32, its residual's Laplace scale."""

    map: np.ndarray
    sigma: np.ndarray


_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class FlowCorrespondence:
    """Landmark-initialised DIS flow, refined by Lucas-Kanade, with a residual-based Laplace
    scale (no weights)."""

    def __init__(self, preset: str = "fast", sigma_window: int = 9,
                 sigma_floor: float = 0.01, timer: Timer | None = None,
                 lk_iterations: int = 3) -> None:
        """``timer`` receives the stages ``flow`` (DIS), ``refine`` (Lucas-Kanade) and
        ``sigma``; ``lk_iterations``: :func:`~streamedit_sdk.kernels.lk_refine` steps after
        DIS (0: none; about 1 ms each at 512x512 on two cores)."""
        self._lk = lk_iterations
        # DIS starts from the flow passed to calc() when it has the frame's size and CV_32FC2
        # (OpenCV 4 and 5); that is how the landmark map initialises it.
        self._dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
        self._window = sigma_window
        self._floor = sigma_floor
        self._grid: np.ndarray | None = None
        self._timer = timer or NullTimer()
        # the editor's stream() begins frame t + 1 on its flow thread while frame t is edited
        # here, and an edit may match a new reference (DIS and the identity cache: one at once)
        self._flow_lock = threading.Lock()

    def encode_reference(self, rgb: np.ndarray) -> FlowReference:
        return FlowReference(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))

    def begin(self, rgb: np.ndarray, reference: ReferenceFeatures, init_map: np.ndarray
              ) -> FlowBegun:
        """DIS and Lucas-Kanade from ``init_map`` and the residual's sigma (none of them needs
        landmarks): what :meth:`predict` would do first, run while the frame's face mesh
        measures."""
        if not isinstance(reference, FlowReference):
            raise TypeError("reference was encoded by another correspondence model")
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        corr = self.refine(gray, reference.gray, init_map)
        with self._timer.stage("sigma"):
            sigma = self.residual_sigma(gray, reference.gray, corr)
        return FlowBegun(corr, sigma)

    def begun_map(self, begun: object | None) -> np.ndarray | None:
        """The map of a frame begun as ``begun``: :meth:`predict` returns it as it is (the
        face lead makes only the edit's map)."""
        return begun.map if isinstance(begun, FlowBegun) else None

    def predict(self, rgb: np.ndarray, reference: ReferenceFeatures, init_map: np.ndarray,
                landmarks: np.ndarray | None = None, lead: Lead | None = None,
                begun: object | None = None) -> Correspondence:
        """rgb: (h, w, 3) uint8 current frame at work size; init_map: (h, w, 2) float32 ref px.
        ``landmarks`` are accepted for the interface and not used (the init map has them);
        ``lead`` (timer stage ``face_lead``) makes the edit's map; ``begun``: :meth:`begin`
        of this frame, reference and ``init_map`` (its flow is not run again), or None."""
        if begun is None:
            begun = self.begin(rgb, reference, init_map)
        elif not isinstance(begun, FlowBegun):
            raise TypeError("begun was made by another correspondence model")
        corr, sigma = begun.map, begun.sigma
        edit_map = None
        if lead is not None:
            with self._timer.stage("face_lead"):  # (with the largest sigma where it sends
                edit_map = lead(corr)               # pixels off the reference)
                sigma = np.where(off_reference(edit_map), np.float32(1.0), sigma)
        return Correspondence(corr, sigma, edit_map)

    def refine(self, gray: np.ndarray, ref_gray: np.ndarray, init_map: np.ndarray
               ) -> np.ndarray:
        """DIS from ``init_map``, then Lucas-Kanade. gray, ref_gray: (h, w) uint8 current and
        reference frames. Returns (h, w, 2) float32 ref px. Any thread (one DIS at a time)."""
        with self._flow_lock, self._timer.stage("flow"):
            grid = self._identity(*gray.shape)
            flow = np.ascontiguousarray(init_map - grid)
            flow = self._dis.calc(gray, ref_gray, flow)  # gray(x) ~ ref(x + flow(x))
            corr = grid + flow
        if self._lk:
            with self._timer.stage("refine"):
                corr = kernels.lk_refine(gray.astype(np.float32) * (1 / 255),
                                         ref_gray.astype(np.float32) * (1 / 255), corr,
                                         iterations=self._lk)
        return corr

    def close(self) -> None:
        """Nothing to release (OpenCV objects go with the Python object)."""

    def residual_sigma(self, gray: np.ndarray, ref_gray: np.ndarray,
                       corr: np.ndarray) -> np.ndarray:
        """Laplace scale (paper eq. 2's sigma, estimated): windowed mean |gray - ref(map)|, 0..1.

        The maximum-likelihood scale of a Laplace distribution is the mean absolute residual;
        pixels whose map leaves the reference count as residual 1. (h, w) float32, >= floor.
        """
        h, w = gray.shape
        warped = cv2.remap(ref_gray, corr, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
        resid = cv2.absdiff(gray, warped)  # uint8; all in OpenCV: half the time of numpy
        inside = cv2.inRange(corr, (-0.5, -0.5), (w - 0.5, h - 0.5))
        resid = cv2.max(resid, cv2.bitwise_not(inside))  # 255 where the map leaves the reference
        sigma = cv2.boxFilter(resid, cv2.CV_32F, (self._window, self._window), normalize=True)
        sigma *= 1.0 / 255.0
        return np.maximum(sigma, self._floor, out=sigma)

    def _identity(self, h: int, w: int) -> np.ndarray:
        if self._grid is None or self._grid.shape[:2] != (h, w):
            self._grid = identity_map(h, w)
        return self._grid
