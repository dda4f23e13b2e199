"""The editor's model operations as small typed functions (the editor only sequences them).

Every function takes an :class:`~streamedit_sdk.sides.base.ArrayOps` (``xp``): with
:class:`~streamedit_sdk.sides.host.HostOps` the arrays are numpy, with the device ops they are
device tensors (the frame stays on the GPU). Where a docstring says (H, W, 3) uint8 it means an
array of that shape and dtype on ``xp``'s side.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from streamedit_sdk.config import FaceLead
from streamedit_sdk.core.inpaint import EditInpainter
from streamedit_sdk.correspondence.base import CorrespondenceModel, Lead, ReferenceFeatures
from streamedit_sdk.correspondence.face_lead import (attached_edit, face_mask, grown_box,
                                                     interocular, led_map, openings,
                                                     pixel_grid, smooth_mesh,
                                                     smoothing_reach)
from streamedit_sdk.frames import paste
from streamedit_sdk.maps import OFF_REFERENCE, off_reference
from streamedit_sdk.perception.landmarks import NUM_LANDMARKS, WarpMesh
from streamedit_sdk.sides.base import Array, ArrayOps
from streamedit_sdk.sides.host import HostOps

__all__ = ["Origin", "Reference", "CarriedEdit", "reference_mesh", "split_attached",
           "encode_reference", "landmark_map", "face_lead", "face_to_origin", "carry_edit",
           "opaque_on_face", "propagate", "hide", "retrace_to_origin",
           "known_after_replacement", "edit_for_new_reference"]

HOST = HostOps()  # stateless: the host side with the default thread count


@dataclass(frozen=True)
class Origin:
    """The user's edit, which every later reference is traced back to.

    delta: (H, W, 3) float32 ``edited - frame`` of the reference the user edited.
    features: the correspondence model's cache of that frame (work size).
    edited: (H, W, 3) uint8 the user's edited reference itself.
    mesh: its triangulation (:func:`reference_mesh`), or None where no face was found: later
        references are matched to it through the face mesh.
    """

    index: int
    delta: Array
    features: ReferenceFeatures
    edited: Array
    mesh: WarpMesh | None = None
    gray: np.ndarray | None = None  # (h, w) uint8 host, the work frame in grey (face lead)
    attached: np.ndarray | None = None  # (h, w) uint8 host, the edit's pieces that belong to
    # the face (face_lead.attached_edit); None without a face
    attached_delta: Array | None = None  # (H, W, 3) float32 the part of ``delta`` on those
    # pieces (carried by the face mesh alone, :func:`face_to_origin`); None when there is none
    rest_delta: Array | None = None  # (H, W, 3) float32 the rest of ``delta`` (carried by the
    # correspondence); None when the edit is all on the face (a sticker)
    attached_reach: float = 0.0  # IOD: how far the face-attached pieces reach past the face's
    # outline on the origin (face_to_origin maps that far, and FACE_MAP_MARGIN more)
    rgb: Array | None = None  # (H, W, 3) uint8 the frame the user edited


@dataclass(frozen=True)
class Reference:
    """One reference frame and its edit, with what the per-frame work reuses.

    rgb, edited: (H, W, 3) uint8 full-resolution frame and its edited version.
    delta: (H, W, 3) float32 ``edited - rgb`` (the residual mode warps it).
    to_origin: (h, w, 2) float32 at work size: map of this reference's pixels into the origin
        (origin work px), or None for the origin itself; known: (h, w) uint8 at work size, 255
        where the edit was traced to the origin, 0 where it was inpainted, or None. Maps are
        composed at work size, where they are estimated: full size would add no detail, only
        cost (a 1080p frame has eight times the pixels of its 512 px work frame).
    mesh: triangulation of the reference's landmarks (work-size px) plus border anchors, or
        None where no face was found.
    gray: (h, w) uint8 host, the work frame in grey (the face lead weighs maps with it).
    attached: (h, w) uint8 host, 1 on the pieces of its edit that belong to the face
        (:func:`~streamedit_sdk.correspondence.face_lead.attached_edit`), or None.
    features: what the correspondence model cached for this reference (work size).
    full_gray: (H, W) float32 0..1 on the editor's side, the frame in grey when it is larger
        than the work frame (the full-resolution refinement reads it every frame), or None.
    """

    index: int
    rgb: Array
    edited: Array
    delta: Array
    origin: Origin
    to_origin: Array | None
    known: Array | None
    mesh: WarpMesh | None
    features: ReferenceFeatures
    gray: np.ndarray | None = None
    attached: np.ndarray | None = None
    full_gray: Array | None = None
    work: np.ndarray | None = None  # (h, w, 3) uint8 host, the frame at work size where it
    # shows a face: what the face surface looks like where it is visible (core.visibility)
    base: Array | None = None  # (H, W, 3) uint8 what replace mode warps under the edit
    # (:func:`replace_base`); None: ``rgb``


def reference_mesh(landmarks: np.ndarray | None, width: int, height: int) -> WarpMesh | None:
    """The landmark warp's triangulation of a reference: ``landmarks`` (478, 2) host px of its
    work frame (``width`` x ``height``), or None where no face was found. Host work only
    (about 1 ms), so it may run on any thread."""
    return None if landmarks is None else WarpMesh.build(landmarks, width, height)


def split_attached(delta: Array, attached: np.ndarray | None, xp: ArrayOps = HOST
                   ) -> tuple[Array | None, Array | None]:
    """The user's edit in two parts: (on the face-attached pieces, the rest), (H, W, 3)
    float32 each on ``xp``'s side, None for a part that is empty.

    delta: (H, W, 3) float32 the edit; attached: (h, w) uint8 host work size
    (:func:`~streamedit_sdk.correspondence.face_lead.attached_edit`), or None. The pieces are
    grown by 2 work px, so the faint rim of an anti-aliased sticker goes with its piece.
    """
    if attached is None or not attached.any():
        return None, delta
    host = xp.to_host(delta)
    grown = cv2.dilate(attached, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    on = cv2.resize(grown, host.shape[1::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
    on_face = np.zeros_like(host)
    paste(on_face, host, on)
    rest = host - on_face
    has_rest = bool(np.abs(rest).max() >= 0.5)
    return xp.from_host(on_face), (xp.from_host(rest) if has_rest else None)


def encode_reference(index: int, rgb: Array, edited: Array, work: Array, mesh: WarpMesh | None,
                     model: CorrespondenceModel, trace: tuple[Origin, Array, Array] | None = None,
                     xp: ArrayOps = HOST) -> Reference:
    """Build a :class:`Reference`; ``work`` is ``rgb`` at work size, ``mesh`` its
    :func:`reference_mesh`; images on ``xp``'s side.

    ``trace``: (origin, to_origin, known) for a reference taken by replacement; None makes this
    reference the origin of the user's edit.
    """
    delta = xp.subtract(edited, rgb)
    features = model.encode_reference(work)
    gray = cv2.cvtColor(xp.to_host(work), cv2.COLOR_RGB2GRAY)
    attached = None
    if mesh is not None:
        small = cv2.resize(xp.to_host(delta), gray.shape[::-1], interpolation=cv2.INTER_AREA)
        attached = attached_edit(small, mesh.points_ref[:NUM_LANDMARKS])
    origin, to_origin, known = (
        trace if trace is not None else
        (Origin(index, delta, features, edited, mesh, gray, attached,
                *split_attached(delta, attached, xp), _reach_past_face(attached, mesh), rgb),
         None, None))
    full_gray = xp.gray(rgb) if rgb.shape[:2] != work.shape[:2] else None
    base = None if trace is None else replace_base(rgb, origin, to_origin, known, xp)
    return Reference(index, rgb, edited, delta, origin, to_origin, known, mesh, features, gray,
                     attached, full_gray, xp.to_host(work) if mesh is not None else None, base)


def replace_base(rgb: Array, origin: Origin, to_origin: Array, known: Array | None,
                 xp: ArrayOps = HOST) -> Array:
    """What replace mode warps under the edit for a reference taken by replacement: (H, W, 3)
    uint8, the origin's frame traced onto it where its edit is traced to the origin, its own
    frame ``rgb`` elsewhere.

    Replace mode draws ``base(map) + delta`` with the delta sampled from the origin. Were the
    base the new reference's own frame, every change of the live picture since the user's
    frame (shading, an expression, blur) would show through the edit from the switch on: a
    style pops at every switch. With the origin's frame under the origin's delta the output is
    the user's edited frame warped, before and after the switch alike; made once per switch
    from the origin, so resampling never piles up over switches. ``to_origin``: (h, w, 2)
    work size, origin work px; ``known``: (h, w) uint8 0..255 at work size, or None (all).
    """
    if origin.rgb is None:
        return rgb
    height, width = rgb.shape[:2]
    full = xp.resize_map(to_origin, width, height)  # (origin full px: the same size)
    traced = xp.grid_sample(origin.rgb, full, fallback=rgb)
    if known is None:
        return traced
    return xp.paste(traced, rgb, xp.resize_image(known, width, height) < 128)


def landmark_map(mesh: WarpMesh, landmarks: np.ndarray, height: int, width: int,
                 fallback: Array, xp: ArrayOps = HOST) -> Array:
    """Barycentric landmark warp (paper §3.1): (h, w, 2) float32 reference px.

    ``landmarks``: (478, 2) host px of the current frame. Pixels no triangle covers (possible
    when landmarks fold over) take ``fallback``.
    """
    return xp.landmark_map(mesh.current_points(landmarks), mesh.points_ref, mesh.triangles,
                           height, width, fallback)


def face_lead(lead: FaceLead, mesh: WarpMesh, ref_gray: np.ndarray, landmarks: np.ndarray,
              gray: np.ndarray, mesh_map: Array, xp: ArrayOps = HOST,
              attached: np.ndarray | None = None) -> Lead:
    """The face-led correction of an estimated map (:mod:`~streamedit_sdk.correspondence.
    face_lead`): the mesh leads inside the face, and openings (mouth, eyes) the reference did
    not see map off it (:data:`~streamedit_sdk.maps.OFF_REFERENCE`).

    mesh, ref_gray: the reference's triangulation (its landmarks) and grey work frame;
    landmarks: (478, 2) host work px of the current frame; gray: (h, w) uint8 host current
    work frame; mesh_map: the landmark map (:func:`landmark_map`) the estimate started from;
    attached: the reference's face-attached edit (host work size), or None. The correction
    runs on the host (a device side copies the map down and back: 2 MB at 512x512).
    """
    ref_landmarks = mesh.points_ref[:NUM_LANDMARKS]
    mesh_host = xp.to_host(mesh_map)

    def apply(estimated: Array) -> Array:
        out = led_map(lead, xp.to_host(estimated), mesh_host, gray, ref_gray, landmarks,
                      attached)
        if lead.openings:
            out[openings(landmarks, ref_landmarks, out)] = OFF_REFERENCE
        return xp.from_host(out)
    return apply


def _reach_past_face(attached: np.ndarray | None, mesh: WarpMesh | None) -> float:
    """How far (IOD) the pieces of ``attached`` ((h, w) uint8, work px) reach past the outline
    of the face of ``mesh``; 0 without them."""
    if attached is None or mesh is None or not attached.any():
        return 0.0
    landmarks = mesh.points_ref[:NUM_LANDMARKS]
    h, w = attached.shape
    away = cv2.distanceTransform(1 - face_mask(landmarks, w, h), cv2.DIST_L2, 3)
    return float(away[attached > 0].max()) / interocular(landmarks)


FACE_MAP_MARGIN = 0.5  # IOD past the face-attached edit's reach that face_to_origin maps (or
# the reach of the mesh's smoothing, when larger)


def face_to_origin(origin: Origin, landmarks: np.ndarray, lead: FaceLead, size: tuple[int, int]
                   ) -> np.ndarray:
    """Map of the current frame's pixels into the origin by the face mesh alone, (h, w, 2)
    float32 origin work px, host: the landmark map from the current landmarks to the
    origin's (``landmarks``: (478, 2) host work px; ``size``: work (width, height)), its
    displacement smoothed by :attr:`FaceLead.mesh_smooth` IOD, and the openings (mouth, eyes)
    the origin did not see sent off it (:attr:`FaceLead.openings`).

    The user's face-attached edit is carried by this map on every frame, whatever the
    current reference: a map composed through references taken since (flow off the face, a
    replacement while the face turned) tears a sticker at the face's outline and leaves
    specks of it on hair and background; the mesh brings it back whole, also when the face
    returns after leaving the frame.

    Only the face's box grown by :attr:`Origin.attached_reach` and :data:`FACE_MAP_MARGIN`
    IOD is mapped (the face-attached edit cannot land farther out); the rest of the frame is
    :data:`~streamedit_sdk.maps.OFF_REFERENCE`.
    """
    w, h = size
    mesh = origin.mesh
    iod = interocular(landmarks)
    grow = origin.attached_reach + max(FACE_MAP_MARGIN, smoothing_reach(lead))
    y0, y1, x0, x1 = grown_box(landmarks, grow * iod, w, h)
    at = np.float32([x0, y0])  # the box's corner: its px are frame px less this
    grid = pixel_grid(h, w)[y0:y1, x0:x1]
    corr = HOST.landmark_map(mesh.current_points(landmarks) - at, mesh.points_ref,
                             mesh.triangles, y1 - y0, x1 - x0, grid)  # the fallback is read
    if lead.mesh_smooth > 0.0:
        corr = smooth_mesh(corr, lead.mesh_smooth * iod, grid)
    if lead.openings:
        corr[openings(landmarks - at, mesh.points_ref[:NUM_LANDMARKS], corr)] = OFF_REFERENCE
    out = np.full((h, w, 2), OFF_REFERENCE, np.float32)
    out[y0:y1, x0:x1] = corr
    return out


@dataclass(frozen=True)
class CarriedEdit:
    """The edit carried onto the current frame.

    to_origin: (H, W, 2) float32 map current -> origin (absolute origin px, full size).
    known: (H, W) bool, pixels whose edit comes from the origin; None: all of them.
    delta: (H, W, 3) float32 to add to the frame's own pixels (both modes add it).
    to_origin_work: (h, w, 2) float32, the same map at work size (origin work px).
    on_face: (H, W, 3) float32 the face-attached part of ``delta``, carried by the face mesh
    (:func:`face_to_origin`), or None.
    """

    to_origin: Array
    known: Array | None
    delta: Array
    to_origin_work: Array
    on_face: Array | None = None


def carry_edit(reference: Reference, corr_map: Array, full_map: Array,
               xp: ArrayOps = HOST, face_map: Array | None = None,
               face_leads: bool = True) -> CarriedEdit:
    """Trace the edit at ``corr_map`` (current -> reference, work px: the edit's map) back to
    the origin.

    ``full_map`` is ``corr_map`` at full size (:func:`~streamedit_sdk.maps.resize_map`). For a
    reference taken by replacement the maps are composed (current -> reference -> origin, at
    work size) and the user's edit is sampled once at the composed map: a sticker baked into a
    reference while the cheek was stretched by a smile comes back undistorted when the face
    relaxes, and it stays as sharp after ten replacements as after one. Pixels the origin never
    saw (inpainted at a replacement) take the reference's own edit.

    ``face_map``: the current frame -> origin map of the face mesh (:func:`face_to_origin`)
    at full size (H, W, 2), origin px, on ``xp``'s side, or None (no face on this frame).
    The part of the edit on the face (:attr:`Origin.attached_delta`) is sampled at it, and
    only the rest travels through the correspondence; on a frame without a face that part
    is not drawn at all. ``face_leads`` False (no face lead): the whole edit travels through
    the correspondence, as one.
    """
    def sample(src: Array, at: Array, border: str = "zero") -> Array:
        return xp.grid_sample(src, at, border=border)

    origin = reference.origin
    on_face = None
    rest = origin.delta
    if face_leads and origin.attached_delta is not None:
        # the face's part goes where the face is, and nowhere on a frame without one (never
        # dragged by flow onto the background of a cut)
        rest = origin.rest_delta
        if face_map is not None:
            on_face = sample(origin.attached_delta, face_map)

    def plus_face(delta: Array | None) -> Array:
        if on_face is None or delta is None:
            if delta is None and on_face is None:  # all on the face, and no face here
                height, width = full_map.shape[:2]
                return xp.from_host(np.zeros((height, width, 3), np.float32))
            return on_face if delta is None else delta
        delta += on_face  # a fresh sample of this frame's (numpy or torch): no new array
        return delta

    if reference.to_origin is None:
        return CarriedEdit(full_map, None, plus_face(None if rest is None else
                                                     sample(rest, full_map)), corr_map, on_face)
    height, width = full_map.shape[:2]
    to_origin_work = sample(reference.to_origin, corr_map, "replicate")
    # pixels the edit's map sends off the reference stay off the origin
    to_origin_work = xp.paste(to_origin_work, corr_map, off_reference(corr_map))
    to_origin = xp.resize_map(to_origin_work, width, height)
    known = None
    if reference.known is not None:
        known_work = sample(reference.known, corr_map)  # 0..255, soft at the seam
        if xp.any(known_work < 128):
            known = xp.resize_image(known_work, width, height) >= 128
    if known is None:
        return CarriedEdit(to_origin, None, plus_face(None if rest is None else
                                                      sample(rest, to_origin)), to_origin_work,
                           on_face)
    if rest is None:  # the whole edit is on the face and the mesh carries all of it: what a
        # replacement inpainted where the old reference did not see is not needed (and was a
        # smear of the sticker off the face)
        return CarriedEdit(to_origin, known, plus_face(None), to_origin_work, on_face)
    own = sample(reference.delta, full_map)
    if on_face is not None:  # the reference's own edit holds the face's part as it was:
        face_part = xp.edit_weight(on_face, 1.0) > 0.0  # zeroed there, in the part's box
        box = xp.box_where(face_part)
        if box is not None:
            part = xp.crop(own, *box)
            y0, y1, x0, x1 = box
            own[y0:y1, x0:x1] = xp.paste(part, part * 0.0, xp.crop(face_part, *box))
    carried = xp.grid_sample(rest, to_origin, fallback=own, valid=xp.as_uint8(known),
                             border="zero")
    return CarriedEdit(to_origin, known, plus_face(carried), to_origin_work, on_face)


def opaque_on_face(carried: CarriedEdit, origin: Origin, face_map: Array, frame: Array,
                   sigma: float, xp: ArrayOps = HOST) -> CarriedEdit:
    """Residual mode for the face-attached edit: the live frame's lighting, not its texture.

    Residual mode adds the edit's difference to the live frame, so whatever differs between
    the live frame and the origin under the edit shows through it: a strand of hair that moved
    across the cheek draws a line through a sticker (and splits it in two). Where the edit
    is strong (:data:`EDIT_FULL` levels and more) the output is the user's edited pixel plus
    only the smooth part (Gaussian, ``sigma`` full-size px) of that difference, the lighting;
    faint edits (make-up) keep the live texture as before.

    face_map: (H, W, 2) the face mesh's map into the origin (origin px); frame: (H, W, 3)
    uint8 the live frame. Returns ``carried`` with its delta changed.
    """
    on_face = carried.on_face
    if on_face is None:
        return carried
    strength = xp.edit_weight(on_face, EDIT_FULL)
    box = xp.box_where(strength > 0.0)
    if box is None:
        return carried
    # the work stays in the edit's box (a sticker is a few % of the frame), grown by the
    # smoothing's reach so the lighting at its edge sees the skin around it
    h, w = strength.shape[:2]
    grow = int(3 * sigma) + 1
    y0, y1 = max(box[0] - grow, 0), min(box[1] + grow, h)
    x0, x1 = max(box[2] - grow, 0), min(box[3] + grow, w)
    at = xp.crop(face_map, y0, y1, x0, x1)
    seen = xp.grid_sample(origin.edited, at, border="zero")  # the edited pixel there
    # live - origin under the edit (E - O = delta, and O's edit part there is on_face)
    leak = xp.subtract(xp.crop(frame, y0, y1, x0, x1), seen) + on_face[y0:y1, x0:x1]
    smooth = xp.smooth_where(leak, ~off_reference(at), sigma)
    delta = carried.delta  # a fresh array of this frame's: changed in place, unless it is
    if delta is on_face:  # the face's part itself (an edit all on the face), which stays
        delta = delta * 1.0  # as carried (a copy, numpy or torch)
    delta[y0:y1, x0:x1] -= (leak - smooth) * strength[y0:y1, x0:x1, None]
    return dataclasses.replace(carried, delta=delta)


EDIT_FULL = 16.0  # intensity levels from which a pixel counts as wholly edited (replace mode)


def propagate(reference: Reference, carried: CarriedEdit, corr_map: Array, frame: Array,
              mode: str, xp: ArrayOps = HOST, edit_map: Array | None = None) -> Array:
    """Output frame (H, W, 3) uint8: the edit carried onto ``frame``.

    ``corr_map``: (H, W, 2) the correspondence at full size (where the frame's content is in
    the reference); ``edit_map``: the edit's (face-led) map against the same reference, or
    None (the same map); ``carried.delta``: the user's edit (``edited - frame`` of the
    origin) carried by the edit's map.

    replace (paper §3.3): the edited reference warped onto the frame. What the user edited
    travels by the edit's map (geometry first on the face: a sticker keeps its shape where
    flow would drag textureless skin, a style's lines stay with the features under them);
    what the user left alone travels by the correspondence (photometric: eyes, lips and
    outline line up exactly). Per pixel the reference's own pixels are mixed between the two
    maps by how much the edit changes them (:data:`EDIT_FULL` levels and more: the edit's
    map only), and the edit, sampled once from the origin (no blur over successive
    switches), is added on top. Pixels whose correspondence leaves the
    reference, and openings of the face it never saw (the edit's map is off the reference
    there), show the live frame.
    residual: the live frame plus the carried delta, so live lighting stays, mouths open and
    eyes blink, and revealed regions stay real.
    """
    if mode != "replace":
        return xp.add_delta(frame, carried.delta)
    seen = xp.as_uint8(~off_reference(carried.to_origin))  # openings the reference never saw
    led = edit_map if edit_map is not None and edit_map is not corr_map else None
    base = reference.rgb if reference.base is None else reference.base
    return xp.blend_edit(frame, carried.delta, base, corr_map, led, seen, EDIT_FULL)


def hide(output: Array, frame: Array, visible: np.ndarray, box: tuple[int, int, int, int],
         xp: ArrayOps = HOST) -> Array:
    """The live frame where the face surface the edit belongs to is hidden (an occluder in
    front of it, the face turned away): ``output + (1 - visible) (frame - output)`` in the
    full-size box of ``box``.

    output, frame: (H, W, 3) uint8 on ``xp``'s side; visible: (h, w) float32 0..1 host, work
    size; box: (y0, y1, x0, x1) work px, where ``visible`` may be below 1. Returns ``output``
    (changed in place where it can be)."""
    y0, y1, x0, x1 = box
    h, w = visible.shape
    height, width = output.shape[:2]
    fy0, fy1 = y0 * height // h, min(-(-y1 * height // h), height)
    fx0, fx1 = x0 * width // w, min(-(-x1 * width // w), width)
    if fy1 <= fy0 or fx1 <= fx0:
        return output
    weight = cv2.resize(np.ascontiguousarray(visible[y0:y1, x0:x1]), (fx1 - fx0, fy1 - fy0),
                        interpolation=cv2.INTER_LINEAR)
    live = xp.crop(frame, fy0, fy1, fx0, fx1)
    edited = xp.subtract(xp.crop(output, fy0, fy1, fx0, fx1), live)
    output[fy0:fy1, fx0:fx1] = xp.add_delta(live, edited * xp.from_host(weight[..., None]))
    return output


def retrace_to_origin(origin: Origin, carried: CarriedEdit, work: Array,
                      model: CorrespondenceModel, landmarks: np.ndarray | None = None,
                      lead: FaceLead | None = None, xp: ArrayOps = HOST) -> Array:
    """Map of a new reference into the origin, (h, w, 2) float32 origin work px.

    The composed map (new -> old reference -> origin) chains the errors of every map on the way,
    and a reference is taken exactly when things look hardest (a smile, a turn). So the model
    also matches the new frame directly against the origin, starting from the composed map;
    with ``lead`` and the new frame's ``landmarks`` (host work px) the face is led by the mesh
    from the new frame to the origin (:func:`face_lead`), so the user's edit is re-derived
    through the mesh and a flaw of the old reference's map is never baked in.
    """
    init = carried.to_origin_work
    guide = None
    if lead is not None and landmarks is not None and origin.mesh is not None:
        h, w = init.shape[:2]
        mesh_map = landmark_map(origin.mesh, landmarks, h, w, init, xp)
        gray = cv2.cvtColor(xp.to_host(work), cv2.COLOR_RGB2GRAY)
        guide = face_lead(lead, origin.mesh, origin.gray, landmarks, gray, mesh_map, xp,
                          origin.attached)
    found = model.predict(work, origin.features, init, landmarks, guide)
    return found.map if found.edit_map is None else found.edit_map


def known_after_replacement(known: Array | None, unseen: Array, work_size: tuple[int, int],
                            xp: ArrayOps = HOST) -> tuple[Array, Array]:
    """Pixels of a new reference whose edit is traced to the origin.

    known: (H, W) bool, the carried edit's (None: all); unseen: (H, W) bool, what the old
    reference did not see. Returns that mask at full size, and at ``work_size`` (width,
    height) as uint8 0..255 (area-averaged: soft at the seam), both on ``xp``'s side.
    """
    full = ~unseen if known is None else known & ~unseen
    return full, xp.resize_image(xp.as_uint8(full) * 255, *work_size)


def edit_for_new_reference(reference: Reference, carried: CarriedEdit, frame: np.ndarray,
                           output: np.ndarray, unseen: np.ndarray, inpainter: EditInpainter,
                           landmarks: np.ndarray | None = None
                           ) -> tuple[np.ndarray, tuple[Origin, np.ndarray, np.ndarray]]:
    """Edited version of ``frame`` when it becomes the reference (paper §3.2-3.3).

    Where the old reference saw the content, the edit is what this frame was just given
    (``output``, from :func:`propagate`), so nothing jumps at the switch. Over the pixels it
    did not see (``unseen``, (H, W) bool: occluded or new content) and those never traced to
    the origin, the carried delta is inpainted and added to the live frame. In residual mode
    the new edited frame is the live frame plus the delta everywhere, so resampling blur and
    inpainting never pile up over successive replacements.

    An edit that belongs to the face (a sticker, :func:`attached_edit`) is no source for the
    unseen pixels off the face (``landmarks``: (478, 2) float32 this frame's work px, or
    None): background a panning camera uncovers beside a sticker overhanging the cheek would
    otherwise be filled with the sticker, and that blob would stay on the background.

    All arguments are host arrays (a replacement is rare: the device path downloads them);
    ``carried.delta`` and ``carried.known`` too, while ``carried.to_origin_work`` and the
    returned trace stay on the side they came from.

    Returns the new edited frame (H, W, 3) uint8 and the trace for :func:`encode_reference`
    (origin, ``carried.to_origin_work``, known at work size as host uint8 0..255).
    """
    wh, ww = carried.to_origin_work.shape[:2]
    known, known_work = known_after_replacement(carried.known, unseen, (ww, wh))
    edited = HOST.add_delta(frame, _fill_edit(inpainter, frame, carried.delta, known,
                                              landmarks, ww))
    paste(edited, output, known)
    return edited, (reference.origin, carried.to_origin_work, known_work)


def _fill_edit(inpainter: EditInpainter, frame: np.ndarray, delta: np.ndarray, known: np.ndarray,
               landmarks: np.ndarray | None, work_width: int) -> np.ndarray:
    """``delta`` (H, W, 3) float32 filled where ``known`` (H, W) bool is False; off the face
    (``landmarks``, work px of a frame ``work_width`` wide) from the edit less its pieces
    that belong to the face."""
    filled = inpainter.fill(frame, delta, ~known)
    if landmarks is None or known.all():
        return filled
    h, w = known.shape
    points = landmarks[:NUM_LANDMARKS] * np.float32(w / work_width)
    off_face = ~known & (face_mask(points, w, h) == 0)
    attached = attached_edit(delta, points).astype(bool) & known
    if off_face.any() and attached.any():
        apart = inpainter.fill(frame, np.where(attached[..., None], 0.0, delta).astype(
            np.float32), ~known | attached)
        filled[off_face] = apart[off_face]
    return filled
