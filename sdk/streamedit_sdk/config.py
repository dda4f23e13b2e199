"""Typed configuration of the editor, validated once when it is built."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Literal

Backend = Literal["ort-cpu", "ort-cuda", "trt", "torch-cuda", "torch-cpu"]
Mode = Literal["replace", "residual"]
ColorOrder = Literal["rgb", "bgr"]
Region = Literal["person", "face", "frame"]
FlowPreset = Literal["ultrafast", "fast", "medium"]
FlowStart = Literal["previous", "mesh"]
Occluders = Literal["network", "residual", "none"]
Correspondence = Literal["auto", "ppce", "flow"]

Device = Literal["host", "cuda"]
Runtime = Literal["ort", "trt", "torch"]


@dataclass(frozen=True)
class Placement:
    """Where the editor runs, parsed once from the backend name users give.

    device: "host" (the CPU) or "cuda" (an NVIDIA GPU) for the networks and the frame path.
    runtime: what runs the PPCE networks: onnxruntime, TensorRT or torch.
    """

    device: Device
    runtime: Runtime

    @property
    def tensors(self) -> bool:
        """True when the frame path runs on torch tensors (every GPU backend, and torch on
        the CPU, the GPU path's reference); False: numpy and the C++ kernels."""
        return self.device == "cuda" or self.runtime == "torch"

    @property
    def name(self) -> str:
        """The backend name (``ort-cpu``, ``trt``, ...)."""
        return next(k for k, v in _PLACEMENTS.items() if v == self)


_PLACEMENTS: dict[str, Placement] = {
    "ort-cpu": Placement("host", "ort"), "ort-cuda": Placement("cuda", "ort"),
    "trt": Placement("cuda", "trt"), "torch-cuda": Placement("cuda", "torch"),
    "torch-cpu": Placement("host", "torch")}
BACKENDS: tuple[str, ...] = tuple(_PLACEMENTS)  # the names the CLI and EditorConfig take


def placement(backend: str) -> Placement:
    """The :class:`Placement` of a backend name; ``ValueError`` naming the choices."""
    _check_choice("backend", backend, BACKENDS)
    return _PLACEMENTS[backend]


MODES: tuple[str, ...] = ("replace", "residual")
# EditorConfig.low_latency(): frames the inpainting of a new reference may take on its worker
# (5-30 ms on the host; three frames at 60 fps are 50 ms)
LOW_LATENCY_SWAP_DELAY = 3


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_whole(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number in [{low}, {high}]; got {value!r}")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a number in [{low}, {high}]; got {value!r}")


@dataclass(frozen=True)
class ReplacementConfig:
    """Adaptive reference replacement (paper §3.2): when and how a new reference is taken.

    Every frame gets a score: the fraction of the region (``region``) whose uncertainty sigma is
    above ``pixel_sigma``. The policy averages the score over the last ``window`` frames measured
    against the current reference and replaces the reference when that average exceeds
    ``replace_above``. Hysteresis: after a replacement the policy is disarmed until the average
    falls below ``rearm_below`` (a reference that stays poor is kept rather than replaced on every
    frame), and two replacements are at least ``min_gap`` frames apart. ``interval`` replaces
    all of this with a fixed schedule (the baseline ARR is measured against).
    """

    enabled: bool = True  # False keeps the first reference for the whole stream
    interval: int = 0  # > 0: a new reference every `interval` frames instead of ARR; 0: ARR
    region: Region = "person"  # where the score is measured: selfie mask, face hull or frame
    region_every: int = 4  # frames one person mask serves (segmenting costs about as much as
    # the face mesh; the score is averaged over `window` frames anyway); 1: every frame
    pixel_sigma: float = 0.06  # Laplace scale (intensity, 0..1) above which a pixel is uncertain
    window: int = 5  # frames averaged by the sliding window
    replace_above: float = 0.12  # replace when the windowed uncertain fraction exceeds this
    rearm_below: float = 0.06  # hysteresis: re-arm once the windowed fraction drops below this
    min_gap: int = 15  # fewest frames between two replacements
    fade_frames: int = 4  # replace mode: a switch is faded in over this many frames (the
    # switch frame's output, carried by the motion since, mixed into theirs; 0: a cut)
    inpaint_sigma: float = 0.15  # sigma above which a pixel is taken as unseen by the old
    # reference (occluded or new content) and its edit is inpainted at replacement; between
    # pixel_sigma and this, the carried edit is kept (misalignment, not missing content)
    inpaint_radius: int = 5  # px, radius of the default OpenCV inpainting of uncertain pixels
    swap_delay: int = 0  # frames between the frame taken as the new reference and the first
    # one whose output has its inpainted edit: 0 inpaints while that frame waits; d > 0
    # inpaints on a worker thread, the frames between using the new reference with its edit
    # as carried (what the old reference did not see is not filled yet), so no frame waits
    # for the inpainting (live streams)

    def __post_init__(self) -> None:
        _check_choice("region", self.region, ("person", "face", "frame"))
        _check_range("pixel_sigma", self.pixel_sigma, 1e-4, 1.0)
        _check_range("inpaint_sigma", self.inpaint_sigma, 1e-4, 1.0)
        _check_range("replace_above", self.replace_above, 0.0, 1.0)
        _check_range("rearm_below", self.rearm_below, 0.0, 1.0)
        if self.rearm_below > self.replace_above:
            raise ValueError(f"rearm_below ({self.rearm_below}) must not exceed replace_above "
                             f"({self.replace_above}): the hysteresis band would be inverted")
        if not isinstance(self.interval, int) or self.interval < 0:
            raise ValueError(f"interval must be a whole number >= 0 (0: adaptive); got "
                             f"{self.interval!r}")
        if not isinstance(self.swap_delay, int) or not 0 <= self.swap_delay <= 30:
            raise ValueError(f"swap_delay must be a whole number of frames in [0, 30]; got "
                             f"{self.swap_delay!r}")
        if self.interval and self.swap_delay >= self.interval:
            raise ValueError(f"swap_delay ({self.swap_delay}) must be shorter than interval "
                             f"({self.interval}): a reference would be due before the last one "
                             "is in use")
        for name in ("window", "min_gap", "inpaint_radius", "region_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1; got {value!r}")
        if not isinstance(self.fade_frames, int) or not 0 <= self.fade_frames <= 30:
            raise ValueError(f"fade_frames must be a whole number of frames in [0, 30]; got "
                             f"{self.fade_frames!r}")


@dataclass(frozen=True)
class FaceLead:
    """Geometry first on the face (:mod:`streamedit_sdk.correspondence.face_lead`): inside
    the face the mesh decides where a pixel goes and flow adds a smooth, bounded correction.
    Lengths in inter-ocular distances (IOD, iris centre to iris centre)."""

    bound: float = 0.0  # largest smooth correction of the mesh on the face by the flow (0:
    # none, the mesh alone: on the eval clips every correction moved cheek stickers away from
    # where the face mesh puts them; on rigidly moved real frames, whose truth is exact, 0.05
    # with the affine correction was closer; see docs/editing.md)
    correction: Literal["affine", "local"] = "affine"  # affine: one affine motion of the
    # whole face fitted to the flow on textured skin (takes out the mesh's jitter, fades out
    # where it would exceed `bound`); local: the flow's difference smoothed over `smooth`
    # (also follows local motion, and drags with it), clipped at `bound`
    smooth: float = 0.1  # Gaussian sigma of the local correction's smoothing
    feather: float = 0.1  # width of the face mask's edge, inside the outline
    detail: bool = True  # where the flow's map explains textured skin (lids, brows, lips)
    # clearly better than the led one, it is taken, within `reach`: a style's lines stay on
    # the features they were drawn on (flat skin, where stickers sit, keeps the led map)
    reach: float = 0.15  # farthest the flow may take a face pixel from the led map
    openings: bool = True  # mouth and eye openings the reference did not see map off it
    ring: float = 1.0  # an edit drawn on the face (a piece mostly inside its outline) follows
    # the mesh up to this far past the outline, fully to half of it: a sticker overhanging a
    # turned cheek moves as one piece instead of tearing along the face's edge
    mesh_smooth: float = 0.08  # Gaussian sigma of the smoothing of the mesh's displacement
    # before it leads: the piecewise-affine warp bends at every triangle edge, and the thin
    # triangles near a turning cheek's silhouette draw a sticker out into wedges; 0: off

    def __post_init__(self) -> None:
        if self.correction not in ("affine", "local"):
            raise ValueError(f"FaceLead.correction must be 'affine' or 'local'; got "
                             f"{self.correction!r}")
        for name in ("bound", "smooth", "feather", "reach", "ring", "mesh_smooth"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 2.0):
                raise ValueError(f"FaceLead.{name} must be a number in [0, 2] IOD; got "
                                 f"{value!r}")


@dataclass(frozen=True)
class Visibility:
    """Whether the frame shows the face surface of the user's edited frame
    (:mod:`streamedit_sdk.core.visibility`): where it does not (a hand, an object or hair in
    front of it, the face turned away), the edit is not drawn and the live frame shows.
    Lengths in inter-ocular distances (IOD), residuals in grey levels (0..255)."""

    occluders: Occluders = "network"  # what finds what is in front of the face: network
    # (the shipped visibility network), residual (the classical signal: regions unlike the
    # reference where the face would be), none
    model_dir: str | os.PathLike | None = None  # the network's folder (model.json and its
    # ONNX file, from `streamedit train-visibility`); None: the one shipped in the package
    hidden_above: float = 0.5  # the network's probability of "hidden" from which a pixel is
    # hidden (lower: more of an occluder's edge hidden, and more of the visible face)
    grow: float = 0.0  # IOD: hidden regions grown by this (the edit keeps off an occluder's
    # edge)
    residual_high: float = 28.0  # a region is an occluder where it differs this much somewhere
    residual_low: float = 12.0  # ... and over what differs this much around that
    min_area: float = 0.02  # IOD^2: smaller regions are not occluders (specks, a wrinkle)
    fold: bool = False  # the face's triangles turned over or squashed: surface facing away
    # (off by default: without the mesh's depth a turned-over triangle also covers pixels of
    # the nearer surface, and hiding it hid visible cheek at the silhouette of a turned head)
    fold_area: float = 0.0  # a triangle under this share of its area in the user's frame
    # (at the face's scale) is squashed
    margin: float = 0.3  # the face's box (where visibility is judged) grown by this
    edge_px: float = 1.5  # Gaussian sigma, work px, of a hidden region's soft edge
    hold_above: float = 0.005  # no new reference (ARR) while this share of the face is hidden:
    # an occluder is not new content to adopt, and would be baked into the reference's edit

    def __post_init__(self) -> None:
        _check_choice("Visibility.occluders", self.occluders, ("network", "residual", "none"))
        if not isinstance(self.fold, bool):
            raise TypeError("Visibility.fold must be True or False")
        if self.model_dir is not None and not isinstance(self.model_dir, (str, os.PathLike)):
            raise TypeError(f"Visibility.model_dir must be a path or None; got "
                            f"{self.model_dir!r}")
        _check_range("residual_high", self.residual_high, 0.0, 255.0)
        _check_range("residual_low", self.residual_low, 0.0, 255.0)
        if self.residual_low > self.residual_high:
            raise ValueError(f"Visibility.residual_low ({self.residual_low}) must not exceed "
                             f"residual_high ({self.residual_high})")
        _check_range("hidden_above", self.hidden_above, 0.0, 1.0)
        _check_range("grow", self.grow, 0.0, 0.5)
        _check_range("min_area", self.min_area, 0.0, 4.0)
        _check_range("fold_area", self.fold_area, 0.0, 1.0)
        _check_range("margin", self.margin, 0.0, 2.0)
        _check_range("edge_px", self.edge_px, 0.0, 16.0)
        _check_range("hold_above", self.hold_above, 0.0, 1.0)


@dataclass(frozen=True)
class EditorConfig:
    """Everything a :class:`~streamedit_sdk.StreamEditor` needs to know, checked at construction."""

    backend: Backend = "ort-cpu"  # ort-cpu: onnxruntime CPU + C++ kernels (host); ort-cuda,
    # trt, torch-cuda: the device pipeline on the GPU (needs torch with CUDA); torch-cpu: the
    # device pipeline on CPU tensors (reference and tests)
    mode: Mode = "replace"  # replace: warp edited pixels; residual: warp the edit delta
    color_order: ColorOrder = "rgb"  # channel order of frames passed in and returned
    work_side: int = 512  # longest side (px) at which correspondence is estimated
    correspondence: Correspondence = "auto"  # flow: landmarks + DIS, no weights; ppce: the
    # learned network; auto: flow on the host, ppce on a device (DIS runs on the host only)
    model_dir: str | os.PathLike | None = None  # PPCE folder (fit/export); None: the shipped one
    flow_preset: FlowPreset = "fast"  # correspondence="flow": DIS preset refining the landmarks
    flow_start: FlowStart = "previous"  # correspondence="flow": where DIS starts. previous:
    # the last frame's map against the same reference (the landmark warp on a reference's
    # first frame), so the face mesh runs beside DIS and Lucas-Kanade on the other core (the
    # mesh uses one): reconstruction -0.11 (d11) to +0.80 dB (s13_fullbody) on the 13 clips,
    # stickers unchanged; mesh: the landmark warp on every frame, after the face mesh (one
    # core idles meanwhile)
    lk_iterations: int = 3  # correspondence="flow": Lucas-Kanade steps after DIS (0: none;
    # 3 gain 2 dB of reconstruction on d11 at about 10 ms a step at 512x512 on two cores)
    full_refine: int = 3  # frames larger than the work size: Lucas-Kanade steps of the
    # correspondence at the frame's own resolution after it is scaled up (0: none, fastest).
    # 3 steps: reconstruction +0.8 to +1.2 dB on the five clips of 700 px to 1080p, about
    # 8 ms a step at 1280x720 and 18 at 1920x1080 on two cores; the face-led map of the edit
    # is not changed by it
    sigma_window: int = 9  # px (at work size): box filter estimating the Laplace scale
    sigma_floor: float = 0.01  # smallest Laplace scale (intensity 0..1), keeps log finite
    num_threads: int = 0  # threads for the C++ kernels and OpenCV; 0: library default
    keep_frame_buffers: bool = True  # the first editor sets glibc malloc for the process so
    # freed frame-sized arrays are reused by the next frame instead of being unmapped and
    # faulted in again (streamedit_sdk.core.heap: 7-8 % less CPU and wall time per frame at
    # 512x512 on 2 cores, peak RSS +5 MB); MALLOC_* variables win; False: malloc left alone
    cuda_graphs: bool = True  # torch-cuda: replay each frame's correspondence as a CUDA graph
    landmark_threads: int = 1  # stream(pipelined=True): face meshes measuring frames at once,
    # frames dealt round-robin (each mesh tracks every k-th frame); 2 lifts the fps where the
    # face mesh is the slowest stage (GPU backends, 4+ cores), at k frames of latency
    lagged_landmarks: bool = False  # True: frame t is warped with frame t-1's landmarks while
    # frame t's face mesh runs on a worker thread, taking the mesh (~5 ms on a CPU core) off
    # each frame's latency; the correspondence absorbs one frame of motion (live streams)
    max_faces: int = 3  # faces the face mesh follows per frame (the largest is edited); below
    # that count MediaPipe runs its face detector on every frame looking for more: 1 runs it
    # only when the face is lost (~1.5 ms less per frame) but never looks for a second face
    face_lead: FaceLead | None = field(default_factory=FaceLead)  # geometry first on the face:
    # the mesh leads, flow or the network add a smooth bounded correction (None: their map)
    visibility: Visibility | None = field(default_factory=Visibility)  # the edit is not drawn
    # where the face surface it belongs to is hidden (None: drawn wherever the mesh says)
    replacement: ReplacementConfig = field(default_factory=ReplacementConfig)

    def __post_init__(self) -> None:
        if self.face_lead is not None and not isinstance(self.face_lead, FaceLead):
            raise TypeError(f"face_lead must be a FaceLead or None; got {self.face_lead!r}")
        if self.visibility is not None and not isinstance(self.visibility, Visibility):
            raise TypeError(f"visibility must be a Visibility or None; got {self.visibility!r}")
        _check_choice("correspondence", self.correspondence, ("auto", "ppce", "flow"))
        if self.placement.tensors and self.correspondence == "flow":
            raise ValueError(f"correspondence={self.correspondence!r} runs on the host (OpenCV "
                             f"DIS): use backend='ort-cpu', or correspondence='ppce' with "
                             f"{self.backend}")
        _check_choice("mode", self.mode, MODES)
        _check_choice("color_order", self.color_order, ("rgb", "bgr"))
        _check_choice("flow_preset", self.flow_preset, ("ultrafast", "fast", "medium"))
        _check_choice("flow_start", self.flow_start, ("previous", "mesh"))
        if self.model_dir is not None and not isinstance(self.model_dir, (str, os.PathLike)):
            raise TypeError(f"model_dir must be a path or None; got {self.model_dir!r}")
        _check_whole("work_side", self.work_side, 64, 4096)
        _check_whole("lk_iterations", self.lk_iterations, 0, 10)
        _check_whole("full_refine", self.full_refine, 0, 10)
        if not isinstance(self.sigma_window, int) or self.sigma_window < 1:
            raise ValueError(f"sigma_window must be a whole number >= 1; got "
                             f"{self.sigma_window!r}")
        _check_range("sigma_floor", self.sigma_floor, 1e-6, 1.0)
        _check_whole("landmark_threads", self.landmark_threads, 1, 8)
        _check_whole("max_faces", self.max_faces, 1, 8)
        if not isinstance(self.num_threads, int) or self.num_threads < 0:
            raise ValueError(f"num_threads must be a whole number >= 0; got {self.num_threads!r}")
        if not isinstance(self.replacement, ReplacementConfig):
            raise TypeError("replacement must be a ReplacementConfig")
        for name in ("lagged_landmarks", "keep_frame_buffers"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False; got {getattr(self, name)!r}")

    @property
    def estimator(self) -> str:
        """The correspondence that runs: ``correspondence`` with "auto" resolved."""
        if self.correspondence != "auto":
            return self.correspondence
        return "ppce" if self.placement.tensors else "flow"

    @property
    def placement(self) -> Placement:
        """The backend name parsed into where the editor runs and what runs its networks."""
        return placement(self.backend)

    def low_latency(self, swap_delay: int = LOW_LATENCY_SWAP_DELAY) -> "EditorConfig":
        """This configuration with nothing slow left on a frame's path: lagged landmarks, the
        inpainting of new references on a worker thread (``swap_delay`` frames), and a face
        mesh that follows one face (``max_faces=1``: no face detector on every frame, so the
        mesh of frame t is more surely done when frame t + 1 needs it)."""
        interval = self.replacement.interval
        delay = min(swap_delay, interval - 1) if interval else swap_delay
        return replace(self, lagged_landmarks=True, max_faces=1,
                       replacement=replace(self.replacement, swap_delay=delay))
