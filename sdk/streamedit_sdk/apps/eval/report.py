"""What ``streamedit eval`` reports: the scores, their JSON / CSV form, a table and a plot.

JSON shape (stable; ``tests/test_eval.py`` checks it)::

    {"video": str, "frames": int, "fps": float,
     "arr":           {"psnr": dB, "ssim": 0..1, "references": int},
     "fixed":         {"psnr", "ssim", "references", "interval": frames},
     "flow":          {"psnr", "ssim", "references", "interval"},
     "landmark_only": {"psnr", "ssim", "references", "interval"},
     "dis":           {"psnr", "ssim", "references", "interval"},
     "dis_full":      {"psnr", "ssim", "references", "interval"},
     "sigma_spearman": -1..1, "warp_error_ratio": float,
     "style": str, "warp_error_ratio_per_frame_style": float,
     "switches": {"style" | "drawn": {"mode", "frames", "excess_median", "excess_max",
                                      "max_above_median", "spikes", "switches",
                                      "switch_frames", "switch_excess_max",
                                      "switch_excess_median", "excess": [per frame 1..N-1]}},
     "fidelity": {"sdk" | "dis_full": {"probes": {probe: {"iou_median", "iou_p5", "torn",
                                                          "drift_p95", "frames"}},
                                       "unscored": int}},
     "occlusion": {kind: {"frames", "drawn_on_occluder", "drawn_on_occluder_p95",
                          "drawn_on_occluder_all", "visible_iou", "psnr_occluder",
                          "psnr_face", "visibility_auc", "visibility_iou",
                          "signals": {signal: {"visibility_auc", "visibility_iou"}}}},
     "cut": {"edit_px_faceless": [int per faceless frame], "max": int,
             "sticker_after": IoU}}

Means are over frames 1..N-1 (frame 0 is every method's first reference). Values that cannot
be computed (a constant sigma, a clip of one frame) are ``null``. A method whose pass was not
run (``eval --only``) is left out; so are ``fidelity``, ``occlusion`` and ``cut``
(:mod:`.occlusion`, :mod:`.cuts`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamedit_sdk.apps.eval.fidelity import FidelityScores

METHODS: tuple[str, ...] = ("arr", "fixed", "flow", "landmark_only", "dis", "dis_full")
REPORT_KEYS: tuple[str, ...] = ("video", "frames", "fps", *METHODS, "sigma_spearman",
                                "warp_error_ratio", "style", "warp_error_ratio_per_frame_style",
                                "switches", "fidelity", "occlusion", "cut")
METHOD_KEYS: tuple[str, ...] = ("psnr", "ssim", "references")
INTERVAL_METHODS: tuple[str, ...] = ("fixed", "flow", "landmark_only", "dis", "dis_full")
PROBE_KEYS: tuple[str, ...] = ("iou_median", "iou_p5", "torn", "drift_p95", "frames")


@dataclass
class MethodScores:
    """Per-frame scores of one method. psnr / ssim: one value per frame 1..N-1."""

    psnr: list[float]
    ssim: list[float]
    reference_ids: list[int]  # frames that were references, in order (frame 0 first)
    interval: int | None = None  # frames between references, for fixed schedules

    def summary(self) -> dict:
        out = {"psnr": _mean(self.psnr), "ssim": _mean(self.ssim),
               "references": len(self.reference_ids)}
        if self.interval is not None:
            out["interval"] = self.interval
        return out


@dataclass
class EvalReport:
    """Everything one ``eval`` run measured on one video."""

    video: str
    frames: int
    fps: float  # StreamEditor.process calls per second in the arr run (no decode, no scoring)
    methods: dict[str, MethodScores]
    sigma_spearman: float  # rank correlation of sigma with |prediction - frame|, arr run
    warp_error_ratio: float  # E(edited output) / E(input), see consistency.py
    style: str  # the built-in style edited for warp_error_ratio
    warp_error_ratio_per_frame_style: float  # the same for the style applied to every frame
    fidelity: dict[str, FidelityScores] | None = None  # sticker fidelity per propagator
    occlusion: dict | None = None  # per occluder kind (occlusion.measure)
    cut: dict | None = None  # the cut to a faceless shot (cuts.measure)
    switches: dict | None = None  # excess change per edit (switches.ExcessChange.summary)

    @property
    def run(self) -> list[str]:
        """The reconstruction methods this report has, in :data:`METHODS` order."""
        return [m for m in METHODS if m in self.methods]

    def to_json(self) -> dict:
        out = {"video": self.video, "frames": self.frames, "fps": _finite(self.fps)}
        for name in self.run:
            out[name] = self.methods[name].summary()
        out.update(sigma_spearman=_finite(self.sigma_spearman),
                   warp_error_ratio=_finite(self.warp_error_ratio), style=self.style,
                   warp_error_ratio_per_frame_style=_finite(
                       self.warp_error_ratio_per_frame_style))
        if self.switches is not None:
            out["switches"] = _plain(self.switches)
        if self.fidelity is not None:
            out["fidelity"] = {k: v.summary() for k, v in self.fidelity.items()}
        if self.occlusion is not None:
            out["occlusion"] = _plain(self.occlusion)
        if self.cut is not None:
            out["cut"] = _plain(self.cut)
        return out

    def table(self) -> str:
        """Plain-text summary for the terminal."""
        lines = [f"{self.video}: {self.frames} frames, SDK {self.fps:.1f} fps",
                 f"{'method':<14} {'refs':>5} {'interval':>8} {'PSNR dB':>8} {'SSIM':>7}"]
        for name in self.run:
            s = self.methods[name].summary()
            interval = s.get("interval")
            lines.append(f"{name:<14} {s['references']:>5} "
                         f"{'-' if interval is None else interval:>8} "
                         f"{_fmt(s['psnr'], 2):>8} {_fmt(s['ssim'], 4):>7}")
        lines.append(f"sigma_spearman {_fmt(self.sigma_spearman, 3)}   warp_error_ratio "
                     f"{_fmt(self.warp_error_ratio, 3)} ({self.style}; styled per frame: "
                     f"{_fmt(self.warp_error_ratio_per_frame_style, 3)})")
        for name, s in (self.switches or {}).items():
            if s["frames"]:
                lines.append(
                    f"excess change, {name} ({s['mode']}): median {s['excess_median']:.2f}, "
                    f"max {s['excess_max']:.2f} grey levels, {s['spikes']} frames > median + 3; "
                    f"{s['switches']} switches, at them max "
                    f"{_fmt(s['switch_excess_max'], 2)}")
        if self.fidelity is not None:
            lines.append(f"{'fidelity':<14} {'probe':<12} {'IoU med':>7} {'IoU p5':>7} "
                         f"{'torn':>6} {'drift p95 IOD':>13}")
            for method, scores in self.fidelity.items():
                for probe, p in scores.summary()["probes"].items():
                    lines.append(f"{method:<14} {probe:<12} {_fmt(p['iou_median'], 3):>7} "
                                 f"{_fmt(p['iou_p5'], 3):>7} {_fmt(p['torn'], 3):>6} "
                                 f"{_fmt(p['drift_p95'], 3):>13}")
        if self.occlusion is not None:
            lines.append(f"{'occlusion':<10} {'drawn on':>8} {'(all px)':>8} {'visible IoU':>11} "
                         f"{'PSNR occl / face':>17} {'vis AUC':>7} {'vis IoU':>7}")
            for kind, o in self.occlusion.items():
                lines.append(f"{kind:<10} {_fmt(o['drawn_on_occluder'], 3):>8} "
                             f"{_fmt(o['drawn_on_occluder_all'], 3):>8} "
                             f"{_fmt(o['visible_iou'], 3):>11} "
                             f"{_fmt(o['psnr_occluder'], 1):>8} / {_fmt(o['psnr_face'], 1):<6} "
                             f"{_fmt(o['visibility_auc'], 3):>7} "
                             f"{_fmt(o['visibility_iou'], 3):>7}")
        if self.cut is not None:
            lines.append(f"cut: edit pixels on faceless frames max {self.cut['max']}, sticker "
                         f"after it IoU {_fmt(self.cut['sticker_after'], 3)}")
        return "\n".join(lines)


def _plain(value):
    """``value`` with numpy scalars as Python numbers (for JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def markdown_summary(reports: list[dict]) -> str:
    """One markdown row per ``eval --json`` report (as loaded), and the means over them.

    PSNR dB / SSIM per method, with the number of references (arr) or the interval (the fixed
    schedules); ``fixed - dis`` (the SDK against DIS MEDIUM at the same references) and
    ``arr - fixed`` in dB; sigma's rank correlation; the warping-error ratio of the propagated
    style (of the style applied to every frame in brackets); the SDK's fps. A method missing
    from a report (``flow`` before it existed) shows as "-".
    """
    def cell(r: dict, name: str) -> str:
        m = r.get(name)
        if m is None:
            return "-"
        refs = m["references"]
        extra = (f"{refs} ref{'s' if refs != 1 else ''}" if name == "arr"
                 else f"every {m['interval']}")
        return f"{_fmt(m['psnr'], 2)} / {_fmt(m['ssim'], 4)} ({extra})"

    def mean(values: list) -> float | None:
        return _mean([v for v in values if v is not None])

    def diff(r: dict, a: str, b: str) -> float | None:
        if r.get(a, {}).get("psnr") is None or r.get(b, {}).get("psnr") is None:
            return None
        return r[a]["psnr"] - r[b]["psnr"]

    head = ("| clip | frames | " + " | ".join(METHODS) + " | fixed - dis dB | arr - fixed dB | "
            "sigma_spearman | warp_error_ratio (per-frame style) | SDK fps |\n"
            "| --- | ---: |" + " --- |" * len(METHODS) + " ---: | ---: | ---: | --- | ---: |")
    rows = [head]
    for r in reports:
        rows.append(f"| {r['video']} | {r['frames']} | " + " | ".join(cell(r, m) for m in METHODS)
                    + f" | {_fmt(diff(r, 'fixed', 'dis'), 2)} | {_fmt(diff(r, 'arr', 'fixed'), 2)}"
                    f" | {_fmt(r['sigma_spearman'], 3)} | {_fmt(r['warp_error_ratio'], 2)} "
                    f"({_fmt(r['warp_error_ratio_per_frame_style'], 2)}) | {_fmt(r['fps'], 1)} |")
    means = {m: (mean([r[m]["psnr"] for r in reports if m in r]),
                 mean([r[m]["ssim"] for r in reports if m in r])) for m in METHODS}
    rows.append("| **mean** | | " + " | ".join(f"{_fmt(p, 2)} / {_fmt(q, 4)}"
                                                for p, q in means.values())
                + f" | {_fmt(mean([diff(r, 'fixed', 'dis') for r in reports]), 2)}"
                f" | {_fmt(mean([diff(r, 'arr', 'fixed') for r in reports]), 2)}"
                f" | {_fmt(mean([r['sigma_spearman'] for r in reports]), 3)}"
                f" | {_fmt(mean([r['warp_error_ratio'] for r in reports]), 2)} "
                f"({_fmt(mean([r['warp_error_ratio_per_frame_style'] for r in reports]), 2)})"
                f" | {_fmt(mean([r['fps'] for r in reports]), 1)} |")
    return "\n".join(rows)


def fidelity_summary(reports: list[dict], probes: tuple[str, ...] = ("cheek_left",
                                                                    "cheek_right")) -> str:
    """One markdown row per ``eval --json`` report that has a ``fidelity`` section: for each of
    ``probes``, the SDK's median / 5th-percentile IoU, torn share and 95th-percentile drift
    (IOD), then DIS MEDIUM's at the clip's resolution; the reconstruction of ``fixed`` against
    ``dis`` and ``dis_full`` (dB). Worst values over the clips in the last row."""
    def cells(f: dict) -> str:
        return (f"{_fmt(f['iou_median'], 2)} / {_fmt(f['iou_p5'], 2)} / "
                f"{_fmt(None if f['torn'] is None else 100 * f['torn'], 1)} % / "
                f"{_fmt(f['drift_p95'], 3)}")

    def gap(r: dict, other: str) -> float | None:
        if r.get("fixed", {}).get("psnr") is None or r.get(other, {}).get("psnr") is None:
            return None
        return r["fixed"]["psnr"] - r[other]["psnr"]

    rows = [r for r in reports if r.get("fidelity")]
    head = ("| clip | " + " | ".join(f"{p}: SDK | {p}: DIS full" for p in probes)
            + " | fixed dB | - dis | - dis_full |\n| --- |"
            + " --- |" * (2 * len(probes)) + " ---: | ---: | ---: |")
    out = [head]
    for r in rows:
        sdk, dis = r["fidelity"]["sdk"]["probes"], r["fidelity"].get("dis_full", {}).get(
            "probes", {})
        out.append(f"| {r['video']} | " + " | ".join(
            f"{cells(sdk[p])} | {cells(dis[p]) if p in dis else '-'}" for p in probes)
            + f" | {_fmt(r.get('fixed', {}).get('psnr'), 2)} | {_fmt(gap(r, 'dis'), 2)} | "
            f"{_fmt(gap(r, 'dis_full'), 2)} |")
    if rows:
        def worst(p: str, who: str) -> str:
            vals = [r["fidelity"][who]["probes"][p] for r in rows if who in r["fidelity"]]

            def pick(k, f):
                return f([v[k] for v in vals if v[k] is not None])
            return cells({"iou_median": pick("iou_median", min), "iou_p5": pick("iou_p5", min),
                          "torn": pick("torn", max), "drift_p95": pick("drift_p95", max)})
        gaps = [g for g in (gap(r, "dis_full") for r in rows) if g is not None]
        out.append("| **worst** | " + " | ".join(f"{worst(p, 'sdk')} | {worst(p, 'dis_full')}"
                                                 for p in probes)
                   + f" | | | {_fmt(min(gaps) if gaps else None, 2)} (mean "
                   f"{_fmt(_mean(gaps), 2)}) |")
    return "\n".join(out)


def write_csv(report: EvalReport, path: str | Path) -> None:
    """One row per frame 1..N-1: psnr and ssim per method, the arr run's reference."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    refs = _reference_of_frame(report.methods["arr"].reference_ids if "arr" in report.methods
                               else [0], report.frames)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["frame", *(f"{m}_{k}" for m in report.run for k in ("psnr", "ssim")),
                      "arr_reference"])
        for i in range(1, report.frames):
            row = [i]
            for m in report.run:
                s = report.methods[m]
                row += [f"{s.psnr[i - 1]:.4f}", f"{s.ssim[i - 1]:.5f}"]
            out.writerow(row + [refs[i]])


def plot(report: EvalReport, path: str | Path) -> None:
    """PSNR per frame for every method; vertical lines where the arr run took a reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=110)
    frames = np.arange(1, report.frames)
    colours = {"arr": "tab:red", "fixed": "tab:blue", "flow": "tab:orange",
               "landmark_only": "tab:gray", "dis": "tab:green", "dis_full": "tab:olive"}
    for name in report.run:
        s = report.methods[name]
        label = f"{name} ({_fmt(_mean(s.psnr), 2)} dB, {len(s.reference_ids)} refs)"
        ax.plot(frames, s.psnr, lw=1.1, color=colours[name], label=label,
                alpha=0.95 if name == "arr" else 0.75)
    arr = report.methods.get("arr")
    for k, ref in enumerate(arr.reference_ids[1:] if arr else []):
        ax.axvline(ref, color="tab:red", lw=0.7, ls="--", alpha=0.6,
                   label="arr: new reference" if k == 0 else None)
    for ref in (report.methods["fixed"].reference_ids[1:] if "fixed" in report.methods
                else []):
        ax.plot([ref], [0], marker="|", ms=10, color="tab:blue", transform=ax.get_xaxis_transform())
    ax.set_xlabel("frame")
    ax.set_ylabel("PSNR of the reconstruction (dB)")
    ax.set_title(f"{report.video}: reconstruction from the current reference (identity edit)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _reference_of_frame(reference_ids: list[int], frames: int) -> list[int]:
    """Reference each frame was predicted from (frame r > 0 taking a reference used the old)."""
    out, k = [0] * frames, 0
    for i in range(1, frames):
        out[i] = reference_ids[k]
        if k + 1 < len(reference_ids) and reference_ids[k + 1] == i:
            k += 1
    return out


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
