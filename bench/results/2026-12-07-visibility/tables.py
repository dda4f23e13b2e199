"""The README's tables from this folder's ``eval-CLIP.json`` files.

    python bench/results/2026-12-07-visibility/tables.py > tables.md
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _f(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def main() -> None:
    runs = {p.stem[len("eval-"):]: json.loads(p.read_text())
            for p in sorted(HERE.glob("eval-*.json"))}
    print("## Issue 18's bars (cheek stickers; reconstruction against DIS at the clip's "
          "resolution)\n")
    print("| clip | cheek | IoU median | IoU p5 | torn | drift p95 IOD | PSNR SDK / DIS full |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for clip, r in runs.items():
        sdk = r["fidelity"]["sdk"]["probes"]
        dis = r.get("dis_full", {}).get("psnr")
        for side in ("cheek_left", "cheek_right"):
            p = sdk[side]
            print(f"| {clip} | {side[6:]} | {_f(p['iou_median'])} | {_f(p['iou_p5'])} | "
                  f"{100 * p['torn']:.1f} % | {_f(p['drift_p95'])} | "
                  f"{_f(r['fixed']['psnr'], 2)} / {_f(dis, 2)} |")
    print("\n## Occlusion (left cheek star; visibility against the occluder's mask)\n")
    print("| clip | occluder | frames | drawn on, median / p95 | visible IoU | PSNR occluder / "
          "face dB | network AUC / IoU | residual AUC / IoU | fold AUC / IoU |")
    print("| --- | --- | ---: | --- | ---: | --- | --- | --- | --- |")
    for clip, r in runs.items():
        for kind, k in (r.get("occlusion") or {}).items():
            s = k["signals"]
            print(f"| {clip} | {kind} | {k['frames']} | {_pct(k['drawn_on_occluder'])} / "
                  f"{_pct(k['drawn_on_occluder_p95'])} | {_f(k['visible_iou'])} | "
                  f"{_f(k['psnr_occluder'], 1)} / {_f(k['psnr_face'], 1)} | "
                  + " | ".join(f"{_f(s[n]['visibility_auc'])} / {_f(s[n]['visibility_iou'])}"
                               for n in ("network", "residual", "fold")) + " |")
    print("\n## Cut to a faceless shot (30 frames) and back\n")
    print("| clip | edit px on faceless frames, max | left cheek star after, median IoU |")
    print("| --- | ---: | ---: |")
    for clip, r in runs.items():
        c = r.get("cut")
        if c:
            print(f"| {clip} | {c['max']} | {_f(c['sticker_after'])} |")


if __name__ == "__main__":
    main()
