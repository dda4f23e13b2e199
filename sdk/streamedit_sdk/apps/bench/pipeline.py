"""``streamedit bench``: the editor end to end, per stage, against the DIS propagation baseline.

For each frame size and backend, on the same frames and in the same process:

* ``sdk``: ``StreamEditor.process`` per frame (latency p50 / p99, per-stage p50 / p99, fps);
* ``sdk pipelined``: ``StreamEditor.stream(pipelined=True)`` (landmarks of frame t + 1 measured
  while frame t is matched and propagated), fps;
* ``sdk live``: ``StreamEditor.process`` on frames that arrive at :data:`LIVE_FPS` (a camera),
  without the stage timer's device syncs (which serialise the GPU work; a
  :class:`~..timing.FrameStages` records each frame's host time per stage), set up as a live
  application should be (``collector.freeze()`` after the editor is set up, as
  ``streamedit stream`` does): latency from a frame's arrival to its output, p50 / p99 (a frame
  that arrives while the editor is busy waits, and its wait counts);
* ``baseline``: DIS optical flow (OpenCV, preset MEDIUM) current -> reference at the same work
  size, the map upsampled and the edited reference warped with ``cv2.remap``, fps. It runs
  interleaved with ``sdk``, frame by frame (SDK on frame t, baseline on frame t, SDK on t + 1,
  ...), so a slower or faster spell of a shared machine falls on both alike.

``speedup = fps / baseline_fps`` (both without pipelining). Frames are in memory and decoding is
excluded. The reference is replaced every :data:`REPLACE_EVERY` frames, about the rate ARR
chose on the hardest clip, so fps includes reference updates.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from streamedit_sdk import edits
from streamedit_sdk.apps import collector, synthetic
from streamedit_sdk.apps.baselines import DisBaseline
from streamedit_sdk.apps.bench import memory
from streamedit_sdk.apps.progress import Progress
from streamedit_sdk.config import EditorConfig, ReplacementConfig, Visibility
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.correspondence.model_folder import ModelInfo, shipped_model_dir
from streamedit_sdk.edits.fill import StyleFill
from streamedit_sdk.io.video import VideoReader
from streamedit_sdk.timing import FrameStages, StageStats, StageTimer, percentiles

log = logging.getLogger(__name__)

DEFAULT_SIZES = ((512, 512), (1280, 720), (1920, 1080))
CYCLE = 24  # distinct frames per size, played forwards and backwards (smooth motion)
WARMUP = 10  # untimed frames before each timed run
REPLACE_EVERY = 30  # frames between reference updates during the timed runs
LIVE_FPS = 60.0  # frame rate of the live-source latency run
STYLE = "teal-orange"  # the edit on the reference (its content does not change the cost)


class FrameSource:
    """The frames the bench times: the synthetic moving portrait, or the first :data:`CYCLE`
    frames of a video; fitted to each size (scaled to fit, the rest mirrored)."""

    def __init__(self, video: str | Path | None = None) -> None:
        if video is None:
            self.name = "synthetic portrait (the astronaut photo, moving head)"
            self._frames = synthetic.clip(CYCLE)[0]
        else:
            reader = VideoReader(video)
            self.name = reader.path.name
            self._frames = [f for _, f in zip(range(CYCLE), reader)]
            if not self._frames:
                raise ValueError(f"{video} holds no decodable video frames")

    def frames(self, width: int, height: int) -> list[np.ndarray]:
        return [fit(f, width, height) for f in self._frames]


def fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fit (width, height), the margins filled by mirroring it."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    sw, sh = min(width, round(w * scale)), min(height, round(h * scale))
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1
                       else cv2.INTER_LINEAR)
    left, top = (width - sw) // 2, (height - sh) // 2
    return cv2.copyMakeBorder(small, top, height - sh - top, left, width - sw - left,
                              cv2.BORDER_REFLECT_101 if min(sw, sh) > 1 else cv2.BORDER_REPLICATE)


def playback(frames: list[np.ndarray], n: int) -> Iterator[np.ndarray]:
    """``n`` frames going back and forth through ``frames`` (0, 1, .., k-1, k-2, .., 0, 1, ..)."""
    k = len(frames)
    period = max(1, 2 * k - 2)
    for i in range(n):
        j = i % period
        yield frames[j if j < k else period - j]


@dataclass(frozen=True)
class BenchResult:
    """One size x backend. Times in ms, memory in MiB."""

    size: tuple[int, int]
    backend: str
    correspondence: str  # "ppce" (the networks) or "flow" (weight-free)
    frames: int  # timed frames per mode
    fps: float
    p50_ms: float
    p99_ms: float
    p99_steady_ms: float  # p99 over the frames that did not replace the reference
    live_p50_ms: float  # arrival -> output at a LIVE_FPS source, no stage timer
    live_p99_ms: float
    live_slowest: tuple[dict, ...]  # the live run's slowest frames, what happened on them
    stages: dict[str, StageStats]
    fps_pipelined: float
    baseline_fps: float
    baseline_p50_ms: float
    rss_mb: float  # peak resident memory of the process during this size's runs
    gpu_mb: float | None  # peak device memory, where the backend uses a GPU
    landmark_threads: int  # EditorConfig.landmark_threads of the pipelined run
    cuda_graphs: bool  # EditorConfig.cuda_graphs
    backbone: str  # the PPCE model's backbone ("portrait", "dinov2_vits14"); "-" for flow
    low_latency: bool = False  # EditorConfig.low_latency(): lagged landmarks, deferred swaps
    full_refine: int = 0  # EditorConfig.full_refine (steps; they run where size > work size)
    flow_start: str = "previous"  # EditorConfig.flow_start (correspondence "flow")
    cpu_ms: float | None = None  # the process's CPU time (all threads, user + system) per
    # frame of the frame-by-frame run: fps x cpu_ms / 1000 is the cores it kept busy (work
    # an editor leaves running after process() returns, such as low latency's deferred
    # references, counts in the interval it runs in)
    baseline_cpu_ms: float | None = None  # the same for the DIS baseline's frames
    visibility: str = "network"  # Visibility.occluders, or "off" (EditorConfig.visibility None)

    @property
    def speedup(self) -> float:
        return self.fps / self.baseline_fps

    def to_json(self) -> dict:
        return {"size": f"{self.size[0]}x{self.size[1]}", "backend": self.backend,
                "correspondence": self.correspondence, "frames": self.frames,
                "fps": round(self.fps, 2),
                "p50_ms": round(self.p50_ms, 3), "p99_ms": round(self.p99_ms, 3),
                "p99_steady_ms": round(self.p99_steady_ms, 3),
                "live_p50_ms": round(self.live_p50_ms, 3),
                "live_p99_ms": round(self.live_p99_ms, 3),
                "live_slowest": list(self.live_slowest),
                "stages": {k: {"p50_ms": round(v.p50_ms, 3), "p99_ms": round(v.p99_ms, 3),
                               "mean_ms": round(v.mean_ms, 3), "count": v.count}
                           for k, v in self.stages.items()},
                "fps_pipelined": round(self.fps_pipelined, 2),
                "baseline_fps": round(self.baseline_fps, 2),
                "baseline_p50_ms": round(self.baseline_p50_ms, 3),
                "speedup": round(self.speedup, 3),
                "speedup_pipelined": round(self.fps_pipelined / self.baseline_fps, 3),
                "rss_mb": round(self.rss_mb, 1), "gpu_mb": self.gpu_mb,
                "landmark_threads": self.landmark_threads, "cuda_graphs": self.cuda_graphs,
                "backbone": self.backbone, "low_latency": self.low_latency,
                "full_refine": self.full_refine, "flow_start": self.flow_start,
                "cpu_ms": _rounded(self.cpu_ms), "baseline_cpu_ms": _rounded(self.baseline_cpu_ms),
                "visibility": self.visibility}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def run(source: FrameSource, sizes: list[tuple[int, int]], backends: list[str], frames: int,
        work_side: int = 512, progress: bool = True, replace_every: int = REPLACE_EVERY,
        correspondences: tuple[str, ...] = ("auto",),
        model_dir: str | Path | None = None, cuda_graphs: bool = True,
        landmark_threads: int = 1, low_latency: bool = False,
        full_refine: int = EditorConfig.full_refine,
        flow_start: str = EditorConfig.flow_start,
        visibilities: tuple[str, ...] = ("network",)) -> list[BenchResult]:
    """Bench every size x backend x correspondence x visibility; see the module docstring for
    what is timed. ``full_refine``: :attr:`EditorConfig.full_refine` (sizes larger than the
    work size); ``flow_start``: :attr:`EditorConfig.flow_start`; ``visibilities``:
    :attr:`Visibility.occluders` values, or "off" (no visibility stage)."""
    results = []
    for width, height in sizes:
        clip = source.frames(width, height)
        for backend, corr, vis in ((b, c, v) for b in backends for c in correspondences
                                   for v in visibilities):
            config = EditorConfig(backend=backend, mode="replace", work_side=work_side,
                                  correspondence=corr, model_dir=model_dir,
                                  cuda_graphs=cuda_graphs, landmark_threads=landmark_threads,
                                  full_refine=full_refine, flow_start=flow_start,
                                  visibility=None if vis == "off" else Visibility(vis),
                                  replacement=ReplacementConfig(interval=replace_every))
            if low_latency:
                config = config.low_latency()
            corr = config.estimator  # "auto" resolved: what ran is what is reported
            label = f"{width}x{height} {backend} {corr} visibility {vis}"
            memory.reset_peak()
            gpu = memory.GpuPeak(config.placement)
            fps, lat, steady, stages, base, cpu = _editor(
                clip, frames, config, work_side, _bar(progress, label, "sdk + baseline"))
            base_fps, base_p50 = 1000.0 / base.mean_ms, base.p50_ms
            fps_pipe = _editor_pipelined(clip, frames, config,
                                         _bar(progress, label, "sdk pipelined"))
            live, slowest = _editor_live(clip, frames, config,
                                         _bar(progress, label, "sdk live"))
            result = BenchResult((width, height), backend, corr, frames, fps, lat.p50_ms,
                                 lat.p99_ms, steady.p99_ms, live.p50_ms, live.p99_ms, slowest,
                                 stages, fps_pipe, base_fps, base_p50, memory.peak_rss_mb(),
                                 gpu.peak_mb(), landmark_threads, cuda_graphs,
                                 _backbone(corr, model_dir), low_latency, config.full_refine,
                                 config.flow_start, *cpu, visibility=vis)
            log.info("%s: %.1f fps (pipelined %.1f), baseline %.1f fps", label, fps, fps_pipe,
                     base_fps)
            results.append(result)
    return results


def _backbone(correspondence: str, model_dir: str | Path | None) -> str:
    if correspondence != "ppce":
        return "-"
    return str(ModelInfo.load(model_dir or shipped_model_dir(), verify=False)
               .meta["config"]["backbone"])


def _edited(frame: np.ndarray) -> np.ndarray:
    """The style on the reference frame, carried as ``edit --style`` carries it (with
    :class:`StyleFill`: content no reference saw is styled frame by frame)."""
    return edits.apply_style(STYLE, frame)


def _editor(clip: list[np.ndarray], n: int, config: EditorConfig, work_side: int,
            bar) -> tuple[float, StageStats, StageStats, dict[str, StageStats], StageStats,
                          tuple[float, float]]:
    """The editor frame by frame, each frame followed by the baseline on the same frame.

    Returns the editor's fps, latency (all frames, and frames without a reference update) and
    stages, the baseline's per-frame latency, and the process's CPU ms per frame of each
    (all threads: on a machine whose cores are all busy, fps follows CPU time, not waits).
    """
    timer = StageTimer(memory.device_sync(config.placement))
    latencies, steady, base_latencies = [], [], []
    cpu = [0.0, 0.0]  # CPU seconds of the SDK's and the baseline's timed frames
    baseline = DisBaseline(work_side)
    edited = _edited(clip[0])
    base_ref = baseline.observe(clip[0])
    with StreamEditor(config, timer=timer, inpainter=StyleFill(STYLE)) as editor:
        editor.set_reference(clip[0], edited)
        for i, frame in enumerate(playback(clip, WARMUP + n)):
            if i == WARMUP:
                timer.clear()
            start, cpu_start = time.perf_counter(), time.process_time()
            replaced = editor.process(frame).replaced
            middle, cpu_middle = time.perf_counter(), time.process_time()
            baseline.warp(baseline.observe(frame), base_ref, edited)
            end, cpu_end = time.perf_counter(), time.process_time()
            if i >= WARMUP:
                cpu[0] += cpu_middle - cpu_start
                cpu[1] += cpu_end - cpu_middle
                latencies.append(middle - start)
                if not replaced:
                    steady.append(middle - start)
                base_latencies.append(end - middle)
                bar.update(1)
    bar.close()
    return (len(latencies) / sum(latencies), percentiles(latencies),
            percentiles(steady or latencies), timer.summary(), percentiles(base_latencies),
            (cpu[0] * 1e3 / len(latencies), cpu[1] * 1e3 / len(latencies)))


def _editor_pipelined(clip: list[np.ndarray], n: int, config: EditorConfig, bar) -> float:
    with StreamEditor(config, inpainter=StyleFill(STYLE)) as editor:
        editor.set_reference(clip[0], _edited(clip[0]))
        start = None
        for i, _ in enumerate(editor.stream(playback(clip, WARMUP + n), pipelined=True)):
            if i == WARMUP - 1:
                start = time.perf_counter()
            elif i >= WARMUP:
                bar.update(1)
        seconds = time.perf_counter() - start
    bar.close()
    return n / seconds


def _editor_live(clip: list[np.ndarray], n: int, config: EditorConfig, bar,
                 fps: float = LIVE_FPS, slowest: int = 5
                 ) -> tuple[StageStats, tuple[dict, ...]]:
    """Latency from arrival to output of frames arriving every 1 / ``fps`` s, no device sync;
    and the ``slowest`` frames: timed index, latency and its two parts (waiting for the editor
    to be free, ``process`` itself) in ms, whether the frame triggered a replacement and
    whether it was the first on a new reference (``swapped``), the garbage collector's full
    collections during it (``gc_ms``) and its thread's host time per stage (``stages``, ms,
    those over 0.05 ms)."""
    period = 1.0 / fps
    latencies, frames_seen = [], []
    reference = 0
    stages = FrameStages()
    try:
        with StreamEditor(config, timer=stages, inpainter=StyleFill(STYLE)) as editor, \
                collector.PauseRecorder() as pauses:
            editor.set_reference(clip[0], _edited(clip[0]))
            start = 0.0
            for i, frame in enumerate(playback(clip, WARMUP + n)):
                if i == WARMUP:
                    collector.freeze()
                    start = time.perf_counter()
                if i < WARMUP:
                    editor.process(frame)
                    stages.take()
                    continue
                arrival = start + (i - WARMUP) * period
                wait = arrival - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                begin = time.perf_counter()
                result = editor.process(frame)
                end = time.perf_counter()
                latencies.append(end - arrival)
                frames_seen.append({
                    "frame": i - WARMUP, "ms": round((end - arrival) * 1e3, 2),
                    "queued_ms": round((begin - arrival) * 1e3, 2),
                    "process_ms": round((end - begin) * 1e3, 2), "replaced": result.replaced,
                    "swapped": result.reference_id != reference and not result.replaced,
                    "gc_ms": round(pauses.within(begin, end) * 1e3, 2),
                    "stages": {k: round(v, 2) for k, v in stages.take().items() if v >= 0.05}})
                reference = result.reference_id
                bar.update(1)
    finally:
        bar.close()
        gc.unfreeze()  # the next runs start from the collector state this one started from
    worst = sorted(frames_seen, key=lambda f: -f["ms"])[:slowest]
    return percentiles(latencies), tuple(worst)


def _bar(enabled: bool, label: str, what: str) -> Progress:
    return Progress(f"{label} {what}", enabled=enabled)
