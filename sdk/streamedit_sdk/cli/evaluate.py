"""``streamedit eval`` and ``streamedit bench``: argument parsing and output only."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from pathlib import Path

from streamedit_sdk.apps.progress import track
from streamedit_sdk.cli.options import (USER_ERRORS, add_correspondence_options,
                                        add_flow_start_option,
                                        add_low_latency_option, editor_config, editor_defaults,
                                        fail, fraction, positive_int, size)
from streamedit_sdk.config import BACKENDS, EditorConfig, placement

log = logging.getLogger("streamedit")


def _progress(enabled: bool):
    def wrap(frames, desc: str, total: int | None):
        return track(frames, desc, total, enabled=enabled)
    return wrap


def write_json(data: dict, path: str | Path) -> Path:
    """Write ``data`` as indented JSON, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _passes(text: str) -> tuple[str, ...]:
    from streamedit_sdk.apps.eval import PASSES

    names = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [n for n in names if n not in PASSES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown pass {bad[0] if bad else '(none)'!r}: "
                                         f"choose from {','.join(PASSES)}")
    return names


def _cmd_eval(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.bench.machine import describe
    from streamedit_sdk.apps.eval import PASSES, evaluate, plot, write_csv

    try:
        config = editor_config(args)
        report = evaluate(args.video, config, fixed_interval_frames=args.fixed_interval,
                          style=args.style, progress=_progress(not args.quiet),
                          passes=args.only or PASSES)
    except USER_ERRORS as exc:
        return fail("eval", str(exc))
    print(report.table())
    if args.json:
        print(f"json: {write_json({**report.to_json(), 'machine': describe()}, args.json)}")
    if args.csv:
        write_csv(report, args.csv)
        print(f"csv:  {args.csv}")
    if args.plot:
        plot(report, args.plot)
        print(f"plot: {args.plot}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.bench import pipeline as bench
    from streamedit_sdk.apps.bench import report as bench_report
    from streamedit_sdk.apps.bench.machine import describe

    backends = args.backend or ["ort-cpu"]
    correspondences = args.correspondence or ["auto"]
    device = [b for b in backends if placement(b).tensors]
    if device and "flow" in correspondences:
        return fail("bench", f"--correspondence flow runs on the host: bench it with ort-cpu, "
                    f"not {device[0]}")
    try:
        source = bench.FrameSource(args.video)
        results = bench.run(source, sizes=args.size or list(bench.DEFAULT_SIZES),
                            backends=backends, frames=args.frames,
                            work_side=args.work_side, progress=not args.quiet,
                            correspondences=tuple(correspondences),
                            model_dir=args.model_dir, cuda_graphs=args.cuda_graphs,
                            landmark_threads=args.landmark_threads,
                            low_latency=args.low_latency, full_refine=args.full_refine,
                            flow_start=args.flow_start,
                            visibilities=tuple(args.visibility or ["network"]))
    except USER_ERRORS as exc:
        return fail("bench", str(exc))
    report = bench_report.to_json(results, describe(), source.name)
    report["date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    print(bench_report.format_table(report))
    if args.json:
        print(f"json: {write_json(report, args.json)}")
    if args.plot:
        bench_report.plot(report, args.plot)
        print(f"plot: {args.plot}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``eval`` and ``bench`` on the ``streamedit`` parser."""
    p = sub.add_parser(
        "eval", help="edit fidelity and reconstruction quality of the SDK against baselines, "
        "on one video",
        description="Reconstruction (identity edit: every frame is predicted by warping its "
        "current reference): the SDK with adaptive reference replacement (arr), the SDK with a "
        "fixed reference interval (fixed), the weight-free correspondence (flow), the landmark "
        "warp alone and DIS optical flow at the work size (dis) and at the clip's own "
        "resolution (dis_full), at the same number of references; sigma's rank correlation "
        "with the error; the temporal warping error of a styled output (consistency); and edit "
        "fidelity: stickers on both cheeks, the forehead and the chin and a moustache stroke "
        "drawn on frame 0, carried in residual mode by the SDK and by DIS, compared frame by "
        "frame with where the face mesh puts them (IoU, torn, drift); occlusion: occluders "
        "composited over the clip (a finger in the person's skin, a dark object, a hand, "
        "hair) and how much of the carried star is drawn on them, with the visibility's "
        "scores beside each classical signal; cut: a cut to a faceless shot and back.")
    p.add_argument("--only", type=_passes, metavar="PASSES",
                   help="comma-separated passes to run (default all): arr, fixed, flow, "
                   "landmark_only, dis, dis_full, consistency, fidelity, occlusion, cut")
    p.add_argument("video", type=Path, help="input video file")
    p.add_argument("--json", metavar="FILE", help="write the scores as JSON")
    p.add_argument("--csv", metavar="FILE", help="write per-frame PSNR / SSIM of every method")
    p.add_argument("--plot", metavar="PNG", help="plot PSNR per frame, references marked")
    p.add_argument("--fixed-interval", type=positive_int, metavar="N",
                   help="frames between references for fixed, landmark_only and dis (default: "
                   "frames / arr references, the same budget)")
    p.add_argument("--style", default="cartoon",
                   help="built-in style for the temporal-consistency run (default cartoon)")
    p.add_argument("--work-side", type=int, default=512, metavar="PX",
                   help="longest side at which correspondence is estimated (default 512)")
    add_correspondence_options(p)
    p.add_argument("--backend", choices=BACKENDS, default="ort-cpu",
                   help="where the SDK runs (default ort-cpu; the baselines run on the host)")
    p.add_argument("--replace-above", type=fraction, default=0.12, metavar="F",
                   help="ARR threshold of the arr run (default 0.12)")
    add_low_latency_option(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    editor_defaults(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser(
        "bench", help="per-stage latency, fps and memory of the SDK against the DIS baseline",
        description="Times the editor on synthetic (or given) frames at each size, with and "
        "without pipelining, and the DIS propagation baseline on the same frames.")
    p.add_argument("--size", type=size, action="append", metavar="WxH",
                   help="frame size, repeatable (default: 512x512 1280x720 1920x1080)")
    p.add_argument("--frames", type=positive_int, default=150,
                   help="timed frames per size and mode (default 150)")
    p.add_argument("--backend", choices=BACKENDS, action="append",
                   help="inference backend, repeatable (default ort-cpu)")
    p.add_argument("--correspondence", choices=("auto", "ppce", "flow"), action="append",
                   help="correspondence of the SDK, repeatable (default auto, the editor's: "
                   "flow on the host, ppce on a GPU)")
    p.add_argument("--model-dir", type=Path, metavar="DIR",
                   help="PPCE model folder (default: the shipped model)")
    p.add_argument("--visibility", choices=("network", "residual", "off"), action="append",
                   help="what judges where the face is hidden, repeatable (default network, "
                   "the editor's; off: no visibility stage, to see its cost)")
    p.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false",
                   help="torch-cuda: launch the correspondence kernel by kernel (for comparison)")
    p.add_argument("--landmark-threads", type=positive_int, default=1, metavar="K",
                   help="face meshes measuring frames at once in the pipelined run (default 1)")
    add_low_latency_option(p)
    p.add_argument("--video", type=Path, metavar="FILE",
                   help="take the frames from this video (fitted to each size) instead of the "
                   "synthetic portrait")
    p.add_argument("--work-side", type=int, default=512, metavar="PX",
                   help="longest side at which correspondence is estimated (default 512)")
    p.add_argument("--full-refine", type=int, default=EditorConfig().full_refine, metavar="N",
                   help="sizes larger than the work size: Lucas-Kanade steps at the frame's own "
                   "resolution (default %(default)s, the editor's; 0 to time without them)")
    add_flow_start_option(p)
    p.add_argument("--json", metavar="FILE", help="write the results and machine as JSON")
    p.add_argument("--plot", metavar="PNG", help="bar chart of fps and stage latencies")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_bench)
