"""Visibility networks side by side on the eval's occlusion paths: for each clip, occluder
kind and network folder, the share of the covered left-cheek star drawn on the occluder
(median / 95th percentile over the frames it covers at least 5 % of the star) and the
visible part's IoU, on the occlusion pass's occluders (the same draws: seed 0, every kind in
order) and paths; every network sees the same ones.

    python bench/results/2026-12-07-visibility/compare_models.py ../shared/clips \\
        shipped /tmp/vis-other          # "shipped": the network in the package
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from streamedit_sdk.apps.eval import fidelity, occlusion
from streamedit_sdk.apps.eval import occluders as occ
from streamedit_sdk.apps.eval.carriers import mesh_truth
from streamedit_sdk.config import EditorConfig, Visibility
from streamedit_sdk.io.video import VideoReader

KINDS = ("finger", "object", "hand")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", type=Path, help="folder of .mp4 clips")
    ap.add_argument("models", nargs="+", help="network folders, or 'shipped'")
    args = ap.parse_args()
    print("| clip | network | " + " | ".join(f"{k}: drawn on, median / p95; visible IoU"
                                             for k in KINDS) + " |")
    print("| --- | --- |" + " --- |" * len(KINDS))
    for path in sorted(args.clips.glob("*.mp4")):
        frames = [f for _, f in zip(range(occlusion.PATH.gone + 4), VideoReader(path))]
        truth = mesh_truth(frames, 512)
        probes = fidelity.make_probes(truth[0])
        target = next(p for p in probes if p.name == occlusion.TARGET)
        rng = np.random.default_rng(0)
        made = {k: occ.make_occluder(k, frames[0], truth[0], rng) for k in occ.KINDS}
        for model in args.models:
            cfg = EditorConfig(visibility=Visibility(
                model_dir=None if model == "shipped" else model))
            cells = []
            for kind in KINDS:
                path_ = dataclasses.replace(
                    occlusion.PATH, rest=(0.0, made[kind].reach + occlusion.REST_BELOW))

                def clip(kind=kind, path_=path_):
                    return occ.occluded_clip(iter(frames), truth, made[kind], path_)

                scores = occlusion.KindScores()
                occlusion._sticker(clip, truth, probes, target, cfg, scores, kind, None)
                s = scores.summary()
                cells.append(f"{100 * s['drawn_on_occluder']:.1f} % / "
                             f"{100 * s['drawn_on_occluder_p95']:.1f} %; "
                             f"{s['visible_iou'] or 0:.3f}")
            print(f"| {path.stem} | {model} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
