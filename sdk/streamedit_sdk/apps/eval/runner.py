"""``evaluate``: every method of the protocol on one video, in one run, at one reference budget."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from streamedit_sdk import edits
from streamedit_sdk.apps.baselines import DisBaseline
from streamedit_sdk.apps.eval.consistency import WarpingError
from streamedit_sdk.apps.eval.predictors import (EditorMethod, LandmarkMatcher, Prediction,
                                                 fixed_interval)
from streamedit_sdk.apps.eval.report import EvalReport, MethodScores
from streamedit_sdk.apps.metrics import psnr, spearman, ssim
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.errors import NoFaceError, VideoError
from streamedit_sdk.io.video import VideoReader

log = logging.getLogger(__name__)

SIGMA_SAMPLES_PER_FRAME = 4096  # pixels per frame drawn for the sigma / error rank correlation

Progress = Callable[[Iterable, str, int | None], Iterable]


def evaluate(video: str | Path, config: EditorConfig | None = None, *,
             fixed_interval_frames: int | None = None, style: str = "cartoon",
             progress: Progress | None = None) -> EvalReport:
    """Run arr, fixed, flow, landmark_only and dis on ``video``; measure temporal consistency.

    config: the SDK's configuration for the ``arr`` run (mode is forced to ``replace``: the
    identity edit's output is then the reference warped onto the frame). ``fixed`` uses the
    same configuration with a fixed schedule, ``flow`` the same with the weight-free
    correspondence (landmark-initialised DIS, no network; on the host backend, where DIS runs). fixed_interval_frames: frames between references
    of the fixed-schedule methods; default ``round(frames / arr references)``, the same budget.
    style: built-in style edited for the warping-error measurement. progress: wraps each pass's
    frame iterator (e.g. with a progress bar): ``progress(frames, description, total)``.
    """
    config = config or EditorConfig()
    edits.style(style)  # an unknown style fails before any decoding
    reader = VideoReader(video)
    wrap = progress or (lambda it, desc, total: it)

    def frames(desc: str, total: int | None = reader.info.frames or None) -> Iterator:
        return iter(wrap(iter(VideoReader(reader.path)), desc, total))

    arr_method = EditorMethod(config)
    sigma_pairs: list[tuple[np.ndarray, np.ndarray]] = []
    rng = np.random.default_rng(0)
    try:
        arr = _score(arr_method.predict(frames("arr")),
                     on_frame=lambda p: sigma_pairs.append(_sigma_sample(p, rng)))
    except NoFaceError as exc:
        raise NoFaceError(f"{reader.path.name}: frame 0 shows no face the landmark tracker can "
                          "find, and eval takes frame 0 as every method's first reference: "
                          "trim the clip to start on a visible face") from exc
    n = len(arr.psnr) + 1
    if n < 2:
        raise VideoError(f"{reader.path} has {n} frame(s): evaluation needs at least 2")
    interval = fixed_interval_frames or max(1, round(n / len(arr.reference_ids)))
    log.info("arr took %d references over %d frames; fixed interval %d",
             len(arr.reference_ids), n, interval)

    fixed_cfg = dataclasses.replace(
        config, replacement=dataclasses.replace(config.replacement, enabled=True,
                                                interval=interval))
    fixed = _score(EditorMethod(fixed_cfg).predict(frames("fixed", n)), interval=interval)
    flow_cfg = dataclasses.replace(fixed_cfg, correspondence="flow", backend="ort-cpu")
    flow = _score(EditorMethod(flow_cfg).predict(frames("flow", n)), interval=interval)
    with LandmarkMatcher(config.work_side) as matcher:
        landmark_only = _score(fixed_interval(frames("landmark_only", n), interval, matcher),
                               interval=interval)
    dis = _score(fixed_interval(frames("dis", n), interval, DisBaseline(config.work_side)),
                 interval=interval)
    warp = _warping_error(frames("consistency", n), config, style)

    errors = np.concatenate([e for e, _ in sigma_pairs]) if sigma_pairs else np.empty(0)
    sigmas = np.concatenate([s for _, s in sigma_pairs]) if sigma_pairs else np.empty(0)
    fps = n / arr_method.seconds if arr_method.seconds > 0 else float("nan")
    return EvalReport(
        video=reader.path.name, frames=n, fps=fps,
        methods={"arr": arr, "fixed": fixed, "flow": flow, "landmark_only": landmark_only,
                 "dis": dis},
        sigma_spearman=spearman(sigmas, errors), warp_error_ratio=warp.ratio("output"),
        style=style, warp_error_ratio_per_frame_style=warp.ratio("per_frame"))


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
                   style: str) -> WarpingError:
    """Edit frame 0 with ``style``, propagate it with the SDK (ARR, replace mode), and measure
    the warping error of the output, of the input and of the style applied to every frame."""
    first = next(frames)
    error = WarpingError(config.work_side, ("output", "per_frame"))
    cfg = dataclasses.replace(config, mode="replace")
    with StreamEditor(cfg) as editor:
        editor.set_reference(first, edits.apply_style(style, first), index=0)
        for frame in _chain_first(first, frames):
            out = editor.process(frame).frame
            error.add(frame, {"output": out, "per_frame": edits.apply_style(style, frame)})
    return error


def _chain_first(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
