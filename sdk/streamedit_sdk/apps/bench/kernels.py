"""Kernel micro-benchmark: C++ grid-sample vs ``cv2.remap``, C++ landmark warp vs numpy.

Both baselines run in the same process, on the same inputs, with the same thread count, so the
ratios are comparable across machines even when absolute times are not.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from streamedit_sdk import kernels
from streamedit_sdk.perception.geometry import delaunay, frame_anchors

log = logging.getLogger(__name__)

DEFAULT_SIZES = ((512, 512), (1280, 720), (1920, 1080))
# Targets of the kernels issue, checked at 1080p (benchmarks, never timed tests).
GRID_SAMPLE_MAX_RATIO = 1.25  # C++ grid-sample / cv2.remap
WARP_MAX_MS_1080P = 5.0  # C++ barycentric warp on 2 cores


@dataclass
class Row:
    size: str  # "WxH"
    kernel: str
    ms: float  # median ms per call, C++ kernel
    baseline: str
    baseline_ms: float  # median ms per call, baseline, same run
    threads: int

    @property
    def ratio(self) -> float:
        return self.ms / self.baseline_ms


def synthetic_face_mesh(width: int, height: int, seed: int = 0):
    """A face-sized landmark cloud plus frame anchors, and a moved copy of it.

    Returns (lm_cur, lm_ref, triangles): 478 face points in an ellipse + 12 border anchors,
    Delaunay-triangulated so the triangles cover the whole frame (the worst case for the warp);
    lm_ref is lm_cur rotated by 4 degrees, scaled by 1.03 and shifted, plus 0.5 px noise.
    """
    rng = np.random.default_rng(seed)
    r = np.sqrt(rng.uniform(0, 1, 478))
    a = rng.uniform(0, 2 * np.pi, 478)
    cx, cy, rx, ry = width / 2, height * 0.45, 0.18 * min(width, height), 0.25 * min(width, height)
    face = np.stack([cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)], 1)
    cur = np.concatenate([face, frame_anchors(width, height)]).astype(np.float32)
    th = np.deg2rad(4.0)
    rot = 1.03 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    ref = (cur - (cx, cy)) @ rot.T + (cx + 6.0, cy - 4.0) + rng.normal(0, 0.5, cur.shape)
    return cur, ref.astype(np.float32), delaunay(cur)


def _median_ms_pair(fn_a: Callable[[], object], fn_b: Callable[[], object], repeat: int,
                    rounds: int = 5) -> tuple[float, float]:
    """Median ms per call of two functions, timed in alternating blocks.

    Blocks (not single calls) alternate: a slow drift of the machine's load hits both sides
    alike, while neither library's thread pool is interrupted by the other's between calls
    (both OpenMP and OpenCV spin-wait briefly after a parallel region).
    """
    per_round = max(1, -(-repeat // rounds))
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, out in ((fn_a, times[0]), (fn_b, times[1])):
            fn()  # warm-up: caches, thread pool
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1])


def run(sizes=DEFAULT_SIZES, repeat: int = 50, threads: int = 0,
        reference_repeat: int = 5) -> list[Row]:
    """Measure both kernels and their baselines at each (width, height).

    The landmark warp and its (slow) numpy baseline are timed over ``reference_repeat`` calls.
    """
    n_threads = threads if threads > 0 else kernels.build_info()["default_num_threads"]
    old_cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(n_threads)
    rows = []
    try:
        for width, height in sizes:
            size = f"{width}x{height}"
            rng = np.random.default_rng(1)
            src = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            src = cv2.GaussianBlur(src, (0, 0), 3)  # image-like, not pure noise
            cur, ref, tris = synthetic_face_mesh(width, height)
            warp = kernels.barycentric_warp(cur, ref, tris, height, width, num_threads=threads)
            smap = np.nan_to_num(warp.map, nan=-1.0)
            out = np.empty_like(src)
            gs_ms, cv_ms = _median_ms_pair(
                lambda: kernels.grid_sample(src, smap, out=out, num_threads=threads),
                lambda: cv2.remap(src, smap, None, cv2.INTER_LINEAR, dst=out,
                                  borderMode=cv2.BORDER_REPLICATE),
                repeat)
            rows.append(Row(size, "grid_sample uint8x3", gs_ms, "cv2.remap", cv_ms, n_threads))
            bw_ms, np_ms = _median_ms_pair(
                lambda: kernels.barycentric_warp(cur, ref, tris, height, width,
                                                 num_threads=threads),
                lambda: kernels.barycentric_warp(cur, ref, tris, height, width, impl="numpy"),
                reference_repeat, rounds=reference_repeat)
            rows.append(Row(size, "barycentric_warp", bw_ms, "numpy reference", np_ms, n_threads))
            log.info("%s done", size)
    finally:
        cv2.setNumThreads(old_cv_threads)
    return rows


def check_targets(rows: list[Row]) -> list[str]:
    """The targets of the kernels issue, each as 'PASS ...' or 'MISS ...' (1080p rows only)."""
    verdicts = []
    for r in rows:
        if r.size != "1920x1080":
            continue
        if r.kernel.startswith("grid_sample"):
            ok = r.ratio <= GRID_SAMPLE_MAX_RATIO
            verdicts.append(f"{'PASS' if ok else 'MISS'} grid_sample at 1080p: {r.ratio:.2f}x "
                            f"cv2.remap (target <= {GRID_SAMPLE_MAX_RATIO}x)")
        else:
            ok = r.ms < WARP_MAX_MS_1080P
            verdicts.append(f"{'PASS' if ok else 'MISS'} barycentric_warp at 1080p: {r.ms:.2f} ms "
                            f"on {r.threads} threads (target < {WARP_MAX_MS_1080P} ms on 2 cores)")
    return verdicts


def format_table(rows: list[Row]) -> str:
    """A Markdown table (readable in a terminal, pasteable into a README or an issue)."""
    lines = ["| size | kernel | C++ ms | baseline | baseline ms | C++ / baseline |",
             "| --- | --- | ---: | --- | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r.size} | {r.kernel} | {r.ms:.3f} | {r.baseline} | "
                     f"{r.baseline_ms:.3f} | {r.ratio:.3f} |")
    return "\n".join(lines)


def to_json(rows: list[Row], machine: dict) -> dict:
    return {"machine": machine,
            "results": [dict(asdict(r), ratio=round(r.ratio, 4)) for r in rows]}
