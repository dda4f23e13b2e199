"""The README's tables from the eval JSON files in this folder.

    python bench/results/2026-12-08-switches/tables.py

before-CLIP.json: the consistency pass at the commit before this work (`--only consistency`);
before-arr-CLIP.json: its `--only arr,fixed`; after-CLIP.json: `--only consistency,arr,fixed`
now. Prints markdown.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def _load(prefix: str) -> dict[str, dict]:
    return {p.stem[len(prefix):]: json.loads(p.read_text())
            for p in sorted(HERE.glob(f"{prefix}*.json"))
            if not p.stem[len(prefix):].startswith("arr-")}


def _switch_row(s: dict) -> str:
    e = s["excess"]  # at a switch: the switch frame or the one after it, the larger
    at = max((max(e[k - 1:k + 1]) for k in s["switch_frames"]), default=None)
    return (f"{s['excess_median']:.2f} | {s['excess_max']:.2f} | {s['max_above_median']:.2f} | "
            f"{s['spikes']} | {s['switches']} | {'-' if at is None else f'{at:.2f}'}")


def main() -> None:
    before, before_arr, after = _load("before-"), _load("before-arr-"), _load("after-")
    clips = sorted(after)
    for edit in ("style", "drawn"):
        print(f"\n**{edit}** (excess change, grey levels: median, max, max - median, frames > "
              "median + 3, switches, max at a switch frame)\n")
        print("| clip | mode | before: median | max | max-med | spikes | switches | at switch "
              "| after: median | max | max-med | spikes | switches | at switch |")
        print("| --- | --- |" + " ---: |" * 12)
        for c in clips:
            b = before.get(c, {}).get("switches", {}).get(edit)
            a = after[c]["switches"].get(edit)
            if a is None:
                continue
            left = _switch_row(b) if b else "- | - | - | - | - | -"
            print(f"| {c} | {a['mode']} | {left} | {_switch_row(a)} |")
    print("\n**ARR against the fixed schedule at the same reference budget** (reconstruction "
          "PSNR dB, references)\n")
    print("| clip | before: arr | fixed | arr - fixed | after: arr | fixed | arr - fixed |")
    print("| --- |" + " ---: |" * 6)
    gains = []
    for c in clips:
        cells = []
        for run in (before_arr.get(c), after[c]):
            if run is None or "arr" not in run:
                cells.append("- | - | -")
                continue
            a, f = run["arr"], run["fixed"]
            cells.append(f"{a['psnr']:.2f} ({a['references']}) | {f['psnr']:.2f} "
                         f"({f['references']}) | {a['psnr'] - f['psnr']:+.2f}")
        gains.append(after[c]["arr"]["psnr"] - after[c]["fixed"]["psnr"])
        print(f"| {c} | {cells[0]} | {cells[1]} |")
    print(f"\nmean arr - fixed now: {sum(gains) / len(gains):+.3f} dB over {len(gains)} clips")


if __name__ == "__main__":
    main()
