"""``streamedit soak``: a long live run (the stream loop on a looping synthetic clip) watched for
leaks: resident memory, open file descriptors and threads at a checkpoint and at the end."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.bench.memory import status_kib
from streamedit_sdk.apps.bench.pipeline import CYCLE, fit, playback
from streamedit_sdk.apps.progress import Progress
from streamedit_sdk.apps.stream import StreamOptions, StreamRunner
from streamedit_sdk.config import EditorConfig, ReplacementConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits.spec import EditSpec


@dataclass(frozen=True)
class Sample:
    """The process at one frame: resident MiB, open descriptors, threads."""

    frame: int
    rss_mb: float
    fds: int
    threads: int
    seconds: float


def sample(frame: int, start: float) -> Sample:
    rss = (status_kib("VmRSS") or 0) / 1024.0
    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = -1
    return Sample(frame, round(rss, 1), fds, threading.active_count(),
                  round(time.perf_counter() - start, 1))


class _LoopSource:
    """The synthetic clip, back and forth, as a file-like source (not live)."""

    live = False
    fps = Fraction(25)

    def __init__(self, frames: list[np.ndarray], n: int) -> None:
        self._frames, self._n = frames, n
        self.size = (frames[0].shape[1], frames[0].shape[0])

    def __iter__(self):
        return playback(self._frames, self._n)

    def close(self) -> None:
        pass


class _WatchingSink:
    """Discards frames, samples the process at the given frame counts."""

    def __init__(self, checkpoints: tuple[int, ...], start: float, bar: Progress) -> None:
        self.samples: list[Sample] = []
        self._checkpoints = set(checkpoints)
        self._start = start
        self._bar = bar
        self.frames = 0

    def write(self, rgb: np.ndarray, seconds: Fraction | None = None) -> None:
        self.frames += 1
        if self.frames in self._checkpoints:
            self.samples.append(sample(self.frames, self._start))
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def run(frames: int = 10_000, size: tuple[int, int] = (512, 512), checkpoint: int = 1_000,
        backend: str = "ort-cpu", replace_every: int = 30, progress: bool = True,
        low_latency: bool = False) -> dict:
    """Stream ``frames`` frames; samples at ``checkpoint`` and at the last frame. The reference
    is replaced every ``replace_every`` frames, so replacements are part of the soak.
    ``low_latency``: :meth:`EditorConfig.low_latency` (its worker threads are watched too)."""
    clip = [fit(f, *size) for f in synthetic.clip(CYCLE)[0]]
    start = time.perf_counter()
    bar = Progress("soak", frames, enabled=progress)
    sink = _WatchingSink((checkpoint, frames), start, bar)
    config = EditorConfig(backend=backend,
                          replacement=ReplacementConfig(interval=replace_every))
    if low_latency:
        config = config.low_latency()
    before = sample(0, start)
    with StreamEditor(config) as editor:
        runner = StreamRunner(_LoopSource(clip, frames), sink, editor,
                              EditSpec(style="teal-orange"), StreamOptions(max_frames=frames),
                              report=lambda line: None)
        stats = runner.run()
    after_close = sample(sink.frames, start)
    first, last = sink.samples[0], sink.samples[-1]
    return {"frames": sink.frames, "size": f"{size[0]}x{size[1]}", "backend": backend,
            "replace_every": replace_every, "low_latency": low_latency,
            "stream": stats.summary(),
            "before": before.__dict__, "checkpoint": first.__dict__, "end": last.__dict__,
            "after_close": after_close.__dict__,
            "rss_growth_pct": round(100.0 * (last.rss_mb - first.rss_mb) / first.rss_mb, 2),
            "fd_growth": last.fds - first.fds, "thread_growth": last.threads - first.threads}
