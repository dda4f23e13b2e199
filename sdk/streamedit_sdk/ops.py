"""The editor's model operations as small typed functions (the editor only sequences them)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import kernels
from .correspondence import CorrespondenceModel, ReferenceFeatures
from .inpaint import Inpainter
from .landmarks import WarpMesh


@dataclass(frozen=True)
class Reference:
    """One reference frame and its edit, with what the per-frame work reuses.

    rgb, edited: (H, W, 3) uint8 full-resolution frame and its edited version.
    delta: (H, W, 3) float32 ``edited - rgb`` (the residual mode warps it).
    landmarks: (478, 2) float32 px at work size, or None where no face was found.
    mesh: triangulation of those landmarks plus border anchors, or None.
    features: what the correspondence model cached for this reference (work size).
    """

    index: int
    rgb: np.ndarray
    edited: np.ndarray
    delta: np.ndarray
    landmarks: np.ndarray | None
    mesh: WarpMesh | None
    features: ReferenceFeatures


def encode_reference(index: int, rgb: np.ndarray, edited: np.ndarray, work: np.ndarray,
                     landmarks: np.ndarray | None, model: CorrespondenceModel) -> Reference:
    """Build a :class:`Reference`; ``work`` is ``rgb`` at work size, landmarks in its px."""
    mesh = None
    if landmarks is not None:
        mesh = WarpMesh.build(landmarks, work.shape[1], work.shape[0])
    delta = edited.astype(np.float32) - rgb.astype(np.float32)
    return Reference(index, rgb, edited, delta, landmarks, mesh, model.encode_reference(work))


def landmark_map(mesh: WarpMesh, landmarks: np.ndarray, height: int, width: int,
                 fallback: np.ndarray, num_threads: int = 0) -> np.ndarray:
    """Barycentric landmark warp (paper §3.1): (h, w, 2) float32 reference px.

    Pixels no triangle covers (possible when landmarks fold over) take ``fallback``.
    """
    warp = kernels.barycentric_warp(mesh.current_points(landmarks), mesh.points_ref,
                                    mesh.triangles, height, width, num_threads=num_threads)
    out = warp.map
    holes = warp.mask == 0
    if holes.any():
        out[holes] = fallback[holes]
    return out


def upscale_map(small: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a map of work-size px to (height, width, 2) float32 full-resolution px.

    Pixel centres are aligned (x_full = (x_work + 0.5) * sx - 0.5), as in ``cv2.resize``.
    """
    h, w = small.shape[:2]
    if (h, w) == (height, width):
        return small
    sx, sy = width / w, height / h
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    big[..., 0] = (big[..., 0] + 0.5) * sx - 0.5
    big[..., 1] = (big[..., 1] + 0.5) * sy - 0.5
    return big


def propagate(reference: Reference, corr_map: np.ndarray, frame: np.ndarray, mode: str,
              num_threads: int = 0) -> np.ndarray:
    """Output frame (H, W, 3) uint8: the edit carried onto ``frame`` through ``corr_map``.

    replace: the edited reference sampled at the map (paper §3.3); pixels whose map leaves the
    reference show the live frame. residual: the live frame plus the edit delta sampled at the
    map (zero outside the reference), so live lighting stays and revealed regions stay real.
    """
    if mode == "replace":
        return kernels.grid_sample(reference.edited, corr_map, fallback=frame,
                                   num_threads=num_threads)
    delta = kernels.grid_sample(reference.delta, corr_map, border="zero", num_threads=num_threads)
    delta += frame
    return np.clip(delta, 0, 255, out=delta).astype(np.uint8)


def edit_for_new_reference(output: np.ndarray, frame: np.ndarray, uncertain: np.ndarray,
                           mode: str, inpainter: Inpainter) -> np.ndarray:
    """Edited version of ``frame`` when it becomes the reference (paper §3.2-3.3).

    The old edit carried onto ``frame`` (``output``) with the ``uncertain`` pixels (H, W bool)
    inpainted. In residual mode the delta is inpainted instead, so new content keeps its own
    pixels plus a delta continued from its surroundings.
    """
    if mode == "replace":
        return inpainter.inpaint(output, uncertain)
    delta = output.astype(np.float32) - frame.astype(np.float32)
    delta = inpainter.inpaint(delta, uncertain)
    delta += frame
    return np.clip(delta, 0, 255, out=delta).astype(np.uint8)
