"""One frame matched against the reference and the edit carried onto it: the frame's model work.

:func:`match_frame` runs the per-frame operations in order (upload, landmark warp, the
correspondence model, propagation, uncertainty, download) and returns one
:class:`FrameMatch`, the record a reference replacement starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core import ops
from streamedit_sdk.core.observe import Observation
from streamedit_sdk.core.visibility import FaceView, VisibilityJudge
from streamedit_sdk.correspondence.base import CorrespondenceModel
from streamedit_sdk.correspondence.face_lead import interocular
from streamedit_sdk.sides.base import Array, ArrayOps, HostImage
from streamedit_sdk.timing import Timer


FULL_REFINE_WINDOW = 3  # px, the Lucas-Kanade box at the frame's own resolution: with 3
# steps on the five clips of 700 px to 1080p, 3 px beat 5 px by 0.2-0.8 dB on four of them
# (-0.04 on d13) and 7 or 9 px lose (s18_camera 41.50 / 41.30 / 41.10 / 40.90 dB)
OPAQUE_LIGHTING = 0.15  # IOD: the live frame's difference smoother than this is lighting
# and shows on a strong face-attached edit in residual mode (ops.opaque_on_face)


@dataclass(frozen=True)
class FrameMatch:
    """A frame matched against its reference (arrays on the editor's side unless host).

    obs: the frame's observation; frame, work: the frame uploaded, full and work size;
    corr_map: (h, w, 2) float32 current -> reference, work px (the correspondence: where the
    frame's content is in the reference); full_map: the same at full size (H, W, 2),
    full-size px; carried: the edit traced to the origin by the edit's (face-led) map;
    output: (H, W, 3)
    uint8 the edited frame; edited: its host copy; sigma: (H, W) float32 Laplace scale;
    fraction: the uncertain share of the ARR region (of its visible part); finite: False when
    the model returned NaN or infinite values (the frame is then passed through); view: the
    face's visibility (:class:`~.visibility.FaceView`, host, work size), or None where no
    face was judged.
    """

    obs: Observation
    frame: Array
    work: Array
    corr_map: Array
    full_map: Array
    carried: ops.CarriedEdit
    output: Array
    edited: HostImage
    sigma: Array
    fraction: float
    finite: bool
    view: FaceView | None = None


def starts_from_previous(config: EditorConfig) -> bool:
    """Whether the correspondence starts from the previous frame's map when there is one
    (:attr:`EditorConfig.flow_start`, the weight-free estimator), so it needs no landmarks
    and may run beside the face mesh (:meth:`CorrespondenceModel.begin`)."""
    return config.estimator == "flow" and config.flow_start == "previous"


def match_frame(xp: ArrayOps, model: CorrespondenceModel, ref: ops.Reference,
                obs: Observation, prior: Array | None, config: EditorConfig,
                timer: Timer, begun: object | None = None,
                judge: VisibilityJudge | None = None) -> FrameMatch:
    """Match ``obs`` against ``ref`` and carry the edit (paper §3.1 and §3.3).

    ``prior``: the previous frame's map (work size) against ``ref``, the landmark warp's
    fallback where no triangle covers a pixel and the whole initial map without landmarks,
    and where the correspondence starts with :func:`starts_from_previous`; None: identity
    (and the landmark warp is the start). ``begun``: the model's :meth:`begin` of this frame
    against ``ref`` from ``prior`` (run beside the face mesh), or None. ``judge``: the
    stream's :class:`~.visibility.VisibilityJudge` (``config.visibility``), or None.
    Timer stages: upload, landmark_warp, the model's own, full_refine (frames larger than the
    work size, with :attr:`EditorConfig.full_refine`), visibility (the face's, with
    :attr:`EditorConfig.visibility`), propagation, uncertainty, download (the frame's one
    wait for the device).
    """
    h, w = obs.rgb.shape[:2]
    ww, wh = obs.size
    with timer.stage("upload"):
        frame, work = xp.upload_frame(obs.rgb, obs.size if obs.work is None else obs.work)
    previous = prior if starts_from_previous(config) else None
    prior = prior if prior is not None else xp.identity_map(wh, ww)
    lead = None
    with timer.stage("landmark_warp"):
        if obs.landmarks is not None and ref.mesh is not None:
            init = ops.landmark_map(ref.mesh, obs.landmarks, wh, ww, prior, xp)
            if config.face_lead is not None:
                gray = cv2.cvtColor(obs.work if obs.work is not None else xp.to_host(work),
                                    cv2.COLOR_RGB2GRAY)
                lead = ops.face_lead(config.face_lead, ref.mesh, ref.gray, obs.landmarks, gray,
                                     init, xp, ref.attached)
        else:
            init = prior
    start = init if previous is None else previous
    corr = model.predict(work, ref.features, start, obs.landmarks, lead, begun)
    full_map = xp.resize_map(corr.map, w, h)
    if config.full_refine and (w, h) != (ww, wh):
        with timer.stage("full_refine"):
            ref_gray = ref.full_gray if ref.full_gray is not None else xp.gray(ref.rgb)
            full_map = xp.lk_refine(xp.gray(frame), ref_gray, full_map, config.full_refine,
                                    window=FULL_REFINE_WINDOW)
    edit_map = corr.map if corr.edit_map is None else corr.edit_map
    view = None
    if judge is not None and obs.landmarks is not None and ref.work is not None:
        with timer.stage("visibility"):
            seen = obs.work if obs.work is not None else xp.to_host(work)
            view = judge.view(ref.work, ref.mesh, seen, obs.landmarks, xp.to_host(init))
    with timer.stage("propagation"):
        edit_full = full_map if corr.edit_map is None else xp.resize_map(edit_map, w, h)
        face = None
        if (config.face_lead is not None and obs.landmarks is not None
                and ref.origin.attached_delta is not None and ref.origin.mesh is not None):
            face = xp.resize_map(xp.from_host(ops.face_to_origin(
                ref.origin, obs.landmarks, config.face_lead, obs.size)), w, h)
        carried = ops.carry_edit(ref, edit_map, edit_full, xp, face,
                                 face_leads=config.face_lead is not None)
        if face is not None and config.mode == "residual":
            sigma = OPAQUE_LIGHTING * interocular(obs.landmarks) * w / ww
            carried = ops.opaque_on_face(carried, ref.origin, face, frame, sigma, xp)
        output = ops.propagate(ref, carried, full_map, frame, config.mode, xp, edit_full)
        if view is not None and view.hidden_share > 0.0:
            output = ops.hide(output, frame, view.visible, view.box, xp)
    with timer.stage("uncertainty"):
        region = obs.region
        if view is not None and view.hidden_share > 0.0:  # ARR judges what it can see
            region = (view.visible >= 0.5) if region is None else region & (view.visible >= 0.5)
        pending = xp.fraction_above(corr.sigma, region, config.replacement.pixel_sigma)
        finite = xp.all_finite(corr.map, corr.sigma)
        sigma = xp.resize_image(corr.sigma, w, h)
    with timer.stage("download"):
        edited = xp.download_frame(output)
    finite = bool(finite)
    return FrameMatch(obs, frame, work, corr.map, full_map, carried, output, edited, sigma,
                      float(pending) if finite else 0.0, finite, view)
