"""``evaluate``: every method of the protocol on one video, in one run, at one reference budget."""

from __future__ import annotations

import dataclasses
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from streamedit_sdk import edits
from streamedit_sdk.apps.baselines import DisBaseline
from streamedit_sdk.apps.eval import cuts, fidelity, occlusion
from streamedit_sdk.apps.eval.carriers import dis_propagator, mesh_truth, sdk_propagator
from streamedit_sdk.apps.eval.consistency import WarpingError
from streamedit_sdk.apps.eval.predictors import (EditorMethod, LandmarkMatcher, Prediction,
                                                 fixed_interval)
from streamedit_sdk.apps.eval.report import EvalReport, MethodScores
from streamedit_sdk.apps.eval.switches import ExcessChange
from streamedit_sdk.apps.metrics import psnr, spearman, ssim
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.errors import NoFaceError, VideoError
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.perception.landmarks import LandmarkTracker

log = logging.getLogger(__name__)

SIGMA_SAMPLES_PER_FRAME = 4096  # pixels per frame drawn for the sigma / error rank correlation

Progress = Callable[[Iterable, str, int | None], Iterable]


PASSES: tuple[str, ...] = ("arr", "fixed", "flow", "landmark_only", "dis", "dis_full",
                           "consistency", "fidelity", "occlusion", "cut")
FIDELITY_METHODS: tuple[str, ...] = ("sdk", "dis_full")  # propagators the fidelity pass runs


def evaluate(video: str | Path, config: EditorConfig | None = None, *,
             fixed_interval_frames: int | None = None, style: str = "cartoon",
             progress: Progress | None = None,
             passes: Iterable[str] = PASSES) -> EvalReport:
    """Run the protocol's passes on ``video`` (DESIGN.md, "How quality is measured").

    Reconstruction (identity edit): ``arr`` (the SDK as configured), ``fixed`` (the same on a
    fixed schedule), ``flow`` (the same with the weight-free correspondence, on the host),
    ``landmark_only``, ``dis`` (DIS MEDIUM at the work size) and ``dis_full`` (DIS MEDIUM at
    the clip's own resolution); ``consistency``: warping error of a propagated ``style``, and the
    excess change of it and of a drawn edit at reference switches (:mod:`.switches`);
    ``fidelity``: stickers and a stroke drawn on frame 0 and carried in residual mode by the
    SDK (``fixed``'s configuration) and by DIS at the clip's resolution
    (:mod:`~streamedit_sdk.apps.eval.fidelity`).

    config: the SDK's configuration (replace mode is forced for reconstruction and
    consistency, residual for fidelity). fixed_interval_frames: frames between references of
    the fixed-schedule methods; default ``round(frames / arr references)``, the same budget
    (25 when ``arr`` is not run). progress: wraps each pass's frame iterator (e.g. with a
    progress bar): ``progress(frames, description, total)``. passes: a subset of
    :data:`PASSES`.
    """
    config = config or EditorConfig()
    passes = tuple(passes)
    unknown = [p for p in passes if p not in PASSES]
    if unknown or not passes:
        raise ValueError(f"unknown eval pass {unknown[0] if unknown else '(none)'!r}: choose "
                         f"from {', '.join(PASSES)}")
    edits.style(style)  # an unknown style fails before any decoding
    reader = VideoReader(video)
    wrap = progress or (lambda it, desc, total: it)

    def frames(desc: str, total: int | None = reader.info.frames or None) -> Iterator:
        return iter(wrap(iter(VideoReader(reader.path)), desc, total))

    methods: dict[str, MethodScores] = {}
    sigma_pairs: list[tuple[np.ndarray, np.ndarray]] = []
    rng = np.random.default_rng(0)
    seconds = frames_timed = 0.0
    n = reader.info.frames or 0
    interval = fixed_interval_frames or 25
    try:
        if "arr" in passes:
            arr_method = EditorMethod(config)
            methods["arr"] = _score(arr_method.predict(frames("arr")),
                                    on_frame=lambda p: sigma_pairs.append(_sigma_sample(p, rng)))
            n = len(methods["arr"].psnr) + 1
            seconds, frames_timed = arr_method.seconds, n
            if fixed_interval_frames is None:
                interval = max(1, round(n / len(methods["arr"].reference_ids)))
            log.info("arr took %d references over %d frames; fixed interval %d",
                     len(methods["arr"].reference_ids), n, interval)
        fixed_cfg = dataclasses.replace(
            config, replacement=dataclasses.replace(config.replacement, enabled=True,
                                                    interval=interval))
        if "fixed" in passes:
            fixed_method = EditorMethod(fixed_cfg)
            methods["fixed"] = _score(fixed_method.predict(frames("fixed")), interval=interval)
            if not frames_timed:
                seconds, frames_timed = fixed_method.seconds, len(methods["fixed"].psnr) + 1
        if "flow" in passes:
            flow_cfg = dataclasses.replace(fixed_cfg, correspondence="flow", backend="ort-cpu")
            methods["flow"] = _score(EditorMethod(flow_cfg).predict(frames("flow")),
                                     interval=interval)
        if "landmark_only" in passes:
            with LandmarkMatcher(config.work_side) as matcher:
                methods["landmark_only"] = _score(
                    fixed_interval(frames("landmark_only"), interval, matcher), interval=interval)
        if "dis" in passes:
            methods["dis"] = _score(fixed_interval(frames("dis"), interval,
                                                   DisBaseline(config.work_side)),
                                    interval=interval)
        if "dis_full" in passes:
            methods["dis_full"] = _score(fixed_interval(frames("dis_full"), interval,
                                                        DisBaseline(FULL_RESOLUTION)),
                                         interval=interval)
        fidelity = (_fidelity(frames, fixed_cfg, interval) if "fidelity" in passes else None)
        occluded = _occlusion(frames, fixed_cfg) if "occlusion" in passes else None
        cut = _cut(frames, fixed_cfg) if "cut" in passes else None
    except NoFaceError as exc:
        raise NoFaceError(f"{reader.path.name}: frame 0 shows no face the landmark tracker can "
                          "find, and eval takes frame 0 as every method's first reference: "
                          "trim the clip to start on a visible face") from exc
    if methods:
        n = len(next(iter(methods.values())).psnr) + 1
        if n < 2:
            raise VideoError(f"{reader.path} has {n} frame(s): evaluation needs at least 2")
    warp, excess = (_warping_error(frames("consistency"), config, style)
                    if "consistency" in passes else (None, {}))

    errors = np.concatenate([e for e, _ in sigma_pairs]) if sigma_pairs else np.empty(0)
    sigmas = np.concatenate([s for _, s in sigma_pairs]) if sigma_pairs else np.empty(0)
    fps = frames_timed / seconds if seconds > 0 else float("nan")
    return EvalReport(
        video=reader.path.name, frames=n, fps=fps, methods=methods,
        sigma_spearman=spearman(sigmas, errors) if sigma_pairs else float("nan"),
        warp_error_ratio=warp.ratio("output") if warp else float("nan"),
        style=style,
        warp_error_ratio_per_frame_style=warp.ratio("per_frame") if warp else float("nan"),
        fidelity=fidelity, occlusion=occluded, cut=cut,
        switches={name: e.summary() for name, e in excess.items()} or None)


FULL_RESOLUTION = 1 << 16  # a work side no frame exceeds: DIS at the clip's own resolution


def _fidelity(frames: Callable[..., Iterator], config: EditorConfig,
              interval: int) -> dict[str, fidelity.FidelityScores]:
    """The fidelity pass: the independent face mesh of every frame, then each propagator."""
    truth = mesh_truth(frames("fidelity: face mesh"), config.work_side)
    propagators = {"sdk": sdk_propagator(dataclasses.replace(config, mode="residual")),
                   "dis_full": dis_propagator(DisBaseline(FULL_RESOLUTION), interval)}
    return fidelity.measure(lambda: frames("fidelity"), truth,
                            {k: propagators[k] for k in FIDELITY_METHODS})


def _occlusion(frames: Callable[..., Iterator], config: EditorConfig) -> dict:
    """The occlusion pass (:mod:`~streamedit_sdk.apps.eval.occlusion`) over the first frames
    of the clip the occluders visit."""
    count = occlusion.PATH.gone + 4
    truth = mesh_truth((f for _, f in zip(range(count), frames("occlusion: face mesh"))),
                       config.work_side)
    return occlusion.measure(lambda: frames("occlusion"), truth, config, frame_count=count)


def _cut(frames: Callable[..., Iterator], config: EditorConfig) -> dict:
    """The cut pass (:mod:`~streamedit_sdk.apps.eval.cuts`)."""
    count = cuts.CUT_AT + cuts.CUT_FRAMES + cuts.AFTER
    truth = mesh_truth((f for _, f in zip(range(count), frames("cut: face mesh"))),
                       config.work_side)
    return cuts.measure(lambda: frames("cut"), truth, config)


def _score(predictions: Iterator[Prediction], *, interval: int | None = None,
           on_frame: Callable[[Prediction], None] | None = None) -> MethodScores:
    """PSNR / SSIM of every prediction after frame 0, and the references taken."""
    scores = MethodScores([], [], [0], interval)
    for p in predictions:
        if p.index == 0:
            continue
        scores.psnr.append(psnr(p.predicted, p.frame))
        scores.ssim.append(ssim(p.predicted, p.frame))
        if on_frame is not None:
            on_frame(p)
        if p.new_reference:
            scores.reference_ids.append(p.index)
    return scores


def _sigma_sample(p: Prediction, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(actual error, predicted sigma) at random pixels: mean |prediction - frame| / 255."""
    h, w = p.frame.shape[:2]
    k = min(SIGMA_SAMPLES_PER_FRAME, h * w)
    flat = rng.choice(h * w, size=k, replace=False)
    ys, xs = np.divmod(flat, w)
    err = np.abs(p.predicted[ys, xs].astype(np.float32)
                 - p.frame[ys, xs].astype(np.float32)).mean(axis=1) / 255.0
    return err, p.sigma[ys, xs]


def _warping_error(frames: Iterator[np.ndarray], config: EditorConfig,
                   style: str) -> tuple[WarpingError, dict[str, ExcessChange]]:
    """Edit frame 0 with ``style``, propagate it with the SDK (ARR, replace mode), and measure
    the warping error of the output, of the input and of the style applied to every frame.
    Beside it, a drawn edit (a red moustache and a blue dot on frame 0) is carried in the mode
    the SDK picks for it; the excess change of both (:mod:`.switches`) is returned by name
    (``style``, ``drawn``; no ``drawn`` when frame 0 shows no face)."""
    first = next(frames)
    error = WarpingError(config.work_side, ("output", "per_frame"))
    styled = EditSpec(style=style)  # made as `edit --style` makes it
    edits_made = {"style": (edits.apply_style(style, first), "replace", styled.inpainter())}
    drawn = _drawn_edit(first)
    if drawn is not None:
        edits_made["drawn"] = (drawn, EditSpec(edited_ref=Path("drawn.png")).mode_for(
            first, drawn).mode, None)
    excess = {name: ExcessChange(mode) for name, (_, mode, _) in edits_made.items()}
    with ExitStack() as stack:
        editors = {}
        for name, (edited, mode, fill) in edits_made.items():
            editor = stack.enter_context(StreamEditor(dataclasses.replace(config, mode=mode),
                                                      inpainter=fill))
            editor.set_reference(first, edited, index=0)
            editors[name] = editor
        for frame in _chain_first(first, frames):
            outs = {name: ed.process(frame) for name, ed in editors.items()}
            error.add(frame, {"output": outs["style"].frame,
                              "per_frame": edits.apply_style(style, frame)})
            for name, out in outs.items():
                excess[name].add(frame, out.frame, out.reference_id)
    return error, excess


def _drawn_edit(frame: np.ndarray) -> np.ndarray | None:
    """``frame`` with a red moustache stroke and a blue dot on the left cheek drawn on it, as
    a user draws on a frame; None when it shows no face."""
    with LandmarkTracker() as tracker:
        landmarks = tracker.detect(frame)
    if landmarks is None:
        return None
    probes = {p.name: p for p in fidelity.make_probes(landmarks)}
    moustache = dataclasses.replace(probes["moustache"], colour=(210, 30, 30))
    cheek = probes["cheek_left"].points
    centre, radius = cheek.mean(axis=0), float(np.linalg.norm(cheek - cheek.mean(0), axis=1)
                                               .max()) * 0.35
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    dot = fidelity.Probe("dot", (centre + radius * np.stack([np.cos(angles), np.sin(angles)],
                                                            1)).astype(np.float32),
                         (40, 60, 220))
    return fidelity.draw_probes(frame, [moustache, dot])


def _chain_first(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
