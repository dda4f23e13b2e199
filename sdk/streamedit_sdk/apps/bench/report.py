"""``streamedit bench`` output: the JSON document, a terminal table, a plot, the docs table.

JSON shape (stable; ``tests/test_bench.py`` checks it)::

    {"machine": {"cpu", "cores", "gpu", "versions": {...}, ...}, "source": str, "date": str,
     "results": [{"size": "512x512", "backend": "ort-cpu", "correspondence": "ppce",
                  "frames", "fps", "p50_ms", "p99_ms",
                  "stages": {name: {"p50_ms", "p99_ms", "mean_ms", "count"}},
                  "fps_pipelined", "baseline_fps", "baseline_p50_ms", "speedup",
                  "speedup_pipelined", "rss_mb", "gpu_mb", ..., "cpu_ms",
                  "baseline_cpu_ms"}, ...]}

``cpu_ms`` / ``baseline_cpu_ms``: CPU time of the process (every thread) per frame of the
SDK and of the baseline in the frame-by-frame run; ``cpu_ms / p50_ms`` is about the cores the
SDK keeps busy. None in results from before 2026-12-03. ``visibility``: what judged where the
face is hidden ("network", "residual", "off"); results before 2026-12-07 lack it and had no
visibility stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from streamedit_sdk.apps.bench.pipeline import BenchResult

RESULT_KEYS: tuple[str, ...] = (
    "size", "backend", "correspondence", "frames", "fps", "p50_ms", "p99_ms", "p99_steady_ms",
    "live_p50_ms", "live_p99_ms", "live_slowest", "stages",
    "fps_pipelined", "baseline_fps", "baseline_p50_ms", "speedup", "speedup_pipelined",
    "rss_mb", "gpu_mb", "landmark_threads", "cuda_graphs", "backbone", "low_latency",
    "full_refine", "flow_start", "cpu_ms", "baseline_cpu_ms", "visibility")
STAGE_KEYS: tuple[str, ...] = ("p50_ms", "p99_ms", "mean_ms", "count")
# stages that run on the editor's worker threads: the person mask always; the landmarks in
# low-latency mode (lagged) and beside the flow (flow_start "previous": the frame's thread
# waits for them only where they outlast the flow)
WORKER_STAGES: tuple[str, ...] = ("landmarks", "segmentation")


def to_json(results: list[BenchResult], machine: dict, source: str) -> dict:
    return {"machine": machine, "source": source, "results": [r.to_json() for r in results]}


def format_table(report: dict) -> str:
    """The results as a Markdown table (one row per size x backend), stages below it."""
    m = report["machine"]
    lines = [f"# {m['cpu']}, {m['cores']} cores, GPU: {m.get('gpu') or 'none'}; "
             f"frames: {report['source']}", "", markdown_table(report), ""]
    stages = _stage_names(report)
    lines.append("| stage p50 / p99 ms | " + " | ".join(
        f"{r['size']} {_engine(r)}" for r in report["results"]) + " |")
    lines.append("| --- |" + " ---: |" * len(report["results"]))
    for name in stages:
        cells = []
        for r in report["results"]:
            s = r["stages"].get(name)
            cells.append("-" if s is None else f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    slowest = slowest_table(report)
    return "\n".join(lines + (["", slowest] if slowest else []))


def slowest_table(report: dict, top: int = 3) -> str:
    """The live run's slowest frames: where each one's time went (its ``top`` costliest
    stages on the frame's thread), with the events on it. Empty for results without them."""
    rows = ["| slowest live frames | frame | ms = queued + process | on it | costliest stages "
            "ms |", "| --- | ---: | ---: | --- | --- |"]
    for r in report["results"]:
        for f in r.get("live_slowest") or ():
            events = [name for name in ("replaced", "swapped") if f.get(name)]
            if f.get("gc_ms"):
                events.append(f"gc {f['gc_ms']:.1f} ms")
            costly = sorted((f.get("stages") or {}).items(), key=lambda kv: -kv[1])[:top]
            rows.append(f"| {r['size']} {_engine(r)} | {f['frame']} | {f['ms']:.1f} = "
                        f"{f['queued_ms']:.1f} + {f['process_ms']:.1f} | "
                        f"{', '.join(events) or '-'} | "
                        f"{', '.join(f'{k} {v:.1f}' for k, v in costly) or '-'} |")
    return "\n".join(rows) if len(rows) > 2 else ""


def markdown_table(report: dict) -> str:
    """One row per size x backend: fps, latency, baseline and speedup, CPU time, memory."""
    rows = ["| size | backend | fps | fps pipelined | p50 ms | p99 ms | p99 ms without a "
            "reference update | live 60 fps p50 / p99 ms | DIS baseline fps | speedup | "
            "CPU ms per frame, SDK / DIS | peak RSS MB | peak GPU MB |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
            "| ---: |"]
    for r in report["results"]:
        steady = r.get("p99_steady_ms")
        gpu = r.get("gpu_mb")
        live = ("-" if r.get("live_p99_ms") is None  # results before the live run
                else f"{r['live_p50_ms']:.1f} / {r['live_p99_ms']:.1f}")
        rows.append(f"| {r['size']} | {_engine(r)} | {r['fps']:.1f} | "
                    f"{r['fps_pipelined']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                    f"{'-' if steady is None else f'{steady:.1f}'} | {live} | "
                    f"{r['baseline_fps']:.1f} | {r['speedup']:.2f} | {_cpu(r)} | "
                    f"{r['rss_mb']:.0f} | "
                    f"{'-' if gpu is None else f'{gpu:.0f}'} |")
    return "\n".join(rows)


def _cpu(result: dict) -> str:
    """"61.2 / 31.0": CPU ms per frame of the SDK and of the baseline ("-" before they were
    measured)."""
    if result.get("cpu_ms") is None:
        return "-"
    return f"{result['cpu_ms']:.1f} / {result['baseline_cpu_ms']:.1f}"


def _engine(result: dict) -> str:
    """"ort-cpu ppce": backend and correspondence (results before PPCE had only "flow"), and
    the settings that differ from the defaults ("dinov2_vits14 backbone", "2 mesh threads",
    "no CUDA graphs", "low latency", "full refine 3" where those steps ran)."""
    label = f"{result['backend']} {result.get('correspondence', 'flow')}"
    if result.get("backbone", "portrait") not in ("portrait", "-"):
        label += f", {result['backbone']} backbone"
    if result.get("landmark_threads", 1) > 1:
        label += f", {result['landmark_threads']} mesh threads"
    if result.get("cuda_graphs") is False and result["backend"] == "torch-cuda":
        label += ", no CUDA graphs"
    if result.get("low_latency"):
        label += ", low latency"
    if result.get("correspondence") == "flow" and result.get("flow_start") == "mesh":
        label += ", flow from the mesh"
    if result.get("visibility") not in (None, "network"):  # None: before the stage existed
        label += f", visibility {result['visibility']}"
    refine = result.get("full_refine")  # only where the size is larger than the work size
    if refine is not None and "full_refine" in result.get("stages", {}):
        label += f", full refine {refine}"
    return label


def _beside(result: dict) -> bool:
    """Whether the landmarks ran on a worker thread beside the frame's own work (lagged, or
    beside the flow)."""
    return bool(result.get("low_latency")) or (result.get("correspondence") == "flow" and
                                               result.get("flow_start") == "previous")


def plot(report: dict, path: str | Path) -> None:
    """Left: fps of the SDK, pipelined and the baseline per size. Right: p50 per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    results = report["results"]
    labels = [f"{r['size']}\n{_engine(r).replace(' ', chr(10))}" for r in results]
    x = np.arange(len(results))
    width = max(12.0, 2.2 * len(results) + 3.0)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(width, 4.8), dpi=110)
    for k, (key, name) in enumerate((("fps", "SDK"), ("fps_pipelined", "SDK pipelined"),
                                     ("baseline_fps", "DIS MEDIUM baseline"))):
        bars = ax1.bar(x + (k - 1) * 0.27, [r[key] for r in results], 0.27, label=name)
        ax1.bar_label(bars, fmt="%.0f", fontsize=7)
    ax1.set_xticks(x, labels)
    ax1.set_ylabel("frames per second")
    cpu = [f"{r['size']} {_cpu(r)}" for r in results if r.get("cpu_ms") is not None]
    ax1.set_title("end to end (frames in memory)" + (
        "\nCPU ms per frame, SDK / DIS: " + "; ".join(cpu) if cpu else ""), fontsize=10)
    ax1.legend(fontsize=8)
    bottom = np.zeros(len(results))
    colours = plt.get_cmap("tab20").colors
    for k, name in enumerate(_stage_names(report)):
        values = np.array([_per_frame_ms(r, name) for r in results])
        aside = [name in WORKER_STAGES and _beside(r) for r in results]
        ax2.bar(x, values, 0.5, bottom=bottom, label=name, color=colours[k % len(colours)],
                hatch=["//" if a else None for a in aside])
        bottom += values
    ax2.set_xticks(x, labels)
    ax2.set_ylabel("mean ms per frame")
    ax2.set_title("where the time goes (without pipelining)" + (
        "\nhatched: on a worker thread, beside the frame's path"
        if any(_beside(r) for r in results) else ""), fontsize=10)
    ax2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    m = report["machine"]
    fig.suptitle(f"streamedit bench: {m['cpu']}, {m['cores']} cores, GPU {m.get('gpu') or 'none'}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _per_frame_ms(result: dict, stage: str) -> float:
    s = result["stages"].get(stage)
    return 0.0 if s is None else s["mean_ms"] * s["count"] / max(1, result["frames"])


def _stage_names(report: dict) -> list[str]:
    names: list[str] = []
    for r in report["results"]:
        names += [n for n in r["stages"] if n not in names]
    return names
