"""What ``streamedit train``, ``fit`` and ``export`` do (the parsers live in the runtime's
``cli_build``, which imports this module only when one of them runs: it needs torch)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

from streamedit_sdk.correspondence.model_folder import shipped_model_dir
from streamedit_sdk.io.video import VideoReader

from .data import ClipFrames, load_clip
from .model import PPCE, ModelConfig, load_checkpoint
from .onnx_export import check_parity, export_model
from .teacher import build_teacher_pool
from .train import TrainConfig, train
from .validate import ValidationSet

log = logging.getLogger(__name__)

GENERIC_CHECKPOINT = "generic.pt"  # shipped beside the ONNX files: where `fit` starts


def _load_clips(paths: list[Path], side: int, work_side: int, cache: Path,
                max_frames: int | None = None) -> tuple[list[ClipFrames], list[ClipFrames]]:
    small, work = [], []
    for p in paths:
        small.append(load_clip(p, side, cache, track_side=work_side, max_frames=max_frames))
        work.append(load_clip(p, work_side, cache, track_side=work_side,
                              max_frames=max_frames))
    return small, work


def _train_config(args: argparse.Namespace, out: Path) -> TrainConfig:
    return TrainConfig(out_dir=out, steps=args.steps, batch=args.batch, crop=args.crop,
                       lr=args.lr, max_gap=args.max_gap, threads=args.threads,
                       resume=args.resume, validate_every=args.validate_every, seed=args.seed)


def _export(model: PPCE, folder: Path, extra: dict) -> dict:
    exported = export_model(model, folder, extra)
    parity = check_parity(model, exported)
    if not parity.ok():
        raise RuntimeError(f"exported networks differ from torch: {parity}")
    size = (exported.backbone.stat().st_size + exported.head.stat().st_size) / 1e6
    return {"folder": str(folder), "onnx_mb": round(size, 2), "parity": parity.__dict__}


def run_train(args: argparse.Namespace) -> int:
    clips_dir = Path(args.clips)
    paths = sorted(clips_dir.glob("*.mp4"))
    if not paths:
        raise FileNotFoundError(f"no .mp4 clips in {clips_dir} (pass --clips DIR)")
    val_names = set(args.val)
    unknown = val_names - {p.stem for p in paths}
    if unknown:
        raise ValueError(f"validation clips {sorted(unknown)} are not in {clips_dir}")
    out, cache = Path(args.output), Path(args.cache)
    config = ModelConfig(backbone=args.backbone, side=args.side, init_preset=args.init_preset,
                         init_lk=args.init_lk)
    t0 = time.monotonic()
    small, work = _load_clips(paths, config.side, args.work_side, cache)
    train_paths = [p for p in paths if p.stem not in val_names]
    pools = build_teacher_pool(train_paths, config.side, args.work_side, cache,
                               args.pairs_per_clip, args.max_gap, config.init_preset,
                               config.init_lk, args.seed, args.workers,
                               progress=not args.quiet)
    val = None
    if val_names:
        keep = [i for i, p in enumerate(paths) if p.stem in val_names]
        val = ValidationSet.build([work[i] for i in keep], [small[i] for i in keep],
                                  config.init_preset, config.init_lk)
    prep = time.monotonic() - t0
    result = train([c for c in small if c.name not in val_names], pools,
                   _train_config(args, out), config, val=val, progress=not args.quiet,
                   dinov2_weights=args.dinov2_weights)
    best = result.best_checkpoint or result.checkpoint
    model, ckpt = load_checkpoint(best)
    report = {"command": "train", "steps": result.steps, "train_seconds": round(result.seconds),
              "prepare_seconds": round(prep), "checkpoint": str(best),
              "validation_clips": sorted(val_names),
              "validation": ckpt["extra"].get("validation"),
              "train_clips": [p.stem for p in train_paths]}
    report["export"] = _export(model, out / "export", {"trained": report})
    (out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"trained {result.steps} steps in {result.seconds / 60:.1f} min (+{prep / 60:.1f} min "
          f"preparing); model: {out / 'export'}")
    if report["validation"]:
        v = report["validation"]
        print(f"validation ({', '.join(sorted(val_names))}): PSNR {v['psnr_model']:.2f} dB, "
              f"initial map {v['psnr_init']:.2f}, DIS MEDIUM {v['psnr_dis_medium']:.2f}; "
              f"sigma Spearman {v['sigma_spearman']:.3f}")
    return 0


def run_train_visibility(args: argparse.Namespace) -> int:
    """``streamedit train-visibility``: :func:`.visibility_train.train_visibility` on the
    clips, the held-out ones validating; prints the network's and the classical signal's
    validation scores."""
    from tqdm import tqdm

    from .visibility_train import VisibilityTrainConfig, train_visibility

    paths = sorted(Path(args.clips).glob("*.mp4"))
    if not paths:
        raise FileNotFoundError(f"no .mp4 clips in {args.clips} (pass --clips DIR)")
    unknown = set(args.val) - {p.stem for p in paths}
    if unknown:
        raise ValueError(f"validation clips {sorted(unknown)} are not in {args.clips}")
    clips = [load_clip(p, 512, Path(args.cache), track_side=512, max_frames=args.frames)
             for p in tqdm(paths, desc="clips", disable=args.quiet)]
    train_clips = [c for c in clips if c.name not in args.val]
    val_clips = [c for c in clips if c.name in args.val]
    cfg = VisibilityTrainConfig(Path(args.output), steps=args.steps, samples=args.samples,
                                threads=args.threads, seed=args.seed)
    with tqdm(total=cfg.samples + cfg.val_samples, desc="samples", disable=args.quiet) as made, \
            tqdm(total=args.steps, desc="training", disable=args.quiet) as bar:
        report = train_visibility(train_clips, val_clips, cfg, progress=bar.update,
                                  sample_progress=made.update)
    v = report["validation"]
    print(f"visibility network: {Path(args.output) / report['net']}; validation on "
          f"{', '.join(report['val_clips'])}: network AUC {v['network']['auc']:.3f} IoU "
          f"{v['network']['iou']:.3f} false alarms {v['network']['false_alarm']:.4f}; "
          f"classical residual AUC {v['classical_residual']['auc']:.3f} IoU "
          f"{v['classical_residual']['iou']:.3f} false alarms "
          f"{v['classical_residual']['false_alarm']:.4f}")
    return 0


def run_fit(args: argparse.Namespace) -> int:
    video = Path(args.video)
    if not video.is_file():
        raise FileNotFoundError(f"video {video} does not exist")
    start = Path(args.start) if args.start else shipped_model_dir() / GENERIC_CHECKPOINT
    base, _ = load_checkpoint(start)
    config = base.config
    out, cache = Path(args.output), Path(args.cache)
    t0 = time.monotonic()
    total = sum(1 for _ in VideoReader(video))
    n_fit = min(args.frames, total)
    if n_fit < 2:
        raise ValueError(f"{video} has {total} frame(s): fitting needs at least 2")
    small, work = _load_clips([video], config.side, args.work_side, cache, max_frames=None)
    fit_small = ClipFrames(small[0].name, small[0].frames[:n_fit], small[0].landmarks[:n_fit])
    fit_work = ClipFrames(work[0].name, work[0].frames[:n_fit], work[0].landmarks[:n_fit])
    pools = [_fit_pool(fit_small, fit_work, args, config)]
    val = None
    if total - n_fit >= 6:  # held-out: the frames after the fitted ones
        rest = slice(n_fit, total)
        val = ValidationSet.build(
            [ClipFrames(video.stem, work[0].frames[rest], work[0].landmarks[rest])],
            [ClipFrames(video.stem, small[0].frames[rest], small[0].landmarks[rest])],
            config.init_preset, config.init_lk)
    cfg = replace(_train_config(args, out), validate_every=args.steps if val else 0)
    result = train([fit_small], pools, cfg, init_checkpoint=start, val=val,
                   progress=not args.quiet)
    seconds = time.monotonic() - t0
    model, ckpt = load_checkpoint(result.checkpoint)
    report = {"command": "fit", "video": str(video), "frames": n_fit, "steps": result.steps,
              "seconds": round(seconds, 1), "from": str(start),
              "validation": result.history[-1] if val else None}
    report["export"] = _export(model, out / "export", {"fitted": report})
    (out / "fit_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"fitted on frames 0-{n_fit - 1} of {video.name} in {seconds:.0f} s "
          f"({result.steps} steps); model: {out / 'export'}")
    if val:
        v = result.history[-1]
        print(f"on frames {n_fit}-{total - 1}: PSNR {v['psnr_model']:.2f} dB, initial map "
              f"{v['psnr_init']:.2f}, DIS MEDIUM {v['psnr_dis_medium']:.2f}")
    return 0


def _fit_pool(small: ClipFrames, work: ClipFrames, args: argparse.Namespace,
              config: ModelConfig):
    import numpy as np

    from .teacher import sample_gaps, teacher_pairs

    rng = np.random.default_rng(args.seed)
    pairs = sample_gaps(args.pairs, len(work), min(args.max_gap, len(work) - 1), rng)
    return teacher_pairs(work, small.frames.shape[1:3], pairs, config.init_preset,
                         config.init_lk)


def run_export(args: argparse.Namespace) -> int:
    model, _ = load_checkpoint(args.checkpoint)
    info = _export(model, Path(args.output), {"checkpoint": str(args.checkpoint)})
    p = info["parity"]
    print(f"wrote {info['folder']} ({info['onnx_mb']} MB); onnxruntime vs torch: map "
          f"{p['map_px']:.2g} px, log-sigma {p['log_sigma']:.2g}, features {p['features']:.2g}")
    if args.tensorrt:
        from .tensorrt_build import build_engines
        for path in build_engines(Path(args.output), Path(args.engine_cache), force=args.force):
            print(f"engine: {path}")
    return 0
