"""``streamedit train``, ``fit`` and ``export``: the build side's commands.

The parsers live here so ``streamedit --help`` lists them without torch; each handler imports
``streamedit_build`` (torch) only when it runs, and says how to install it when it is missing.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from streamedit_sdk.cli.options import USER_ERRORS, fail, positive_int

_DEFAULT_CACHE = Path.home() / ".cache" / "streamedit" / "train"
_CLIPS = Path("..") / "shared" / "clips"


def _build_module():
    try:
        return importlib.import_module("streamedit_build.commands")
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise ImportError(
            f"this command needs the build side ({missing} is not installed): install torch "
            "first (pip install torch==2.13.0 for the CPU build, or your CUDA build), then "
            "pip install 'streamedit-sdk[train]'") from exc


def _run(name: str, args: argparse.Namespace) -> int:
    try:
        commands = _build_module()
        return getattr(commands, f"run_{name}")(args)
    except USER_ERRORS as exc:
        return fail(name, str(exc))
    except KeyboardInterrupt:
        if hasattr(args, "resume"):
            return fail(name, "interrupted; resume with --resume (checkpoints are in the "
                              "output folder)")
        return fail(name, "interrupted before anything was written; run it again")


def _basics(p: argparse.ArgumentParser, steps: int, output: str, cache: str) -> None:
    """The options every training command has; ``cache``: what its cache holds."""
    p.add_argument("-o", "--output", default=output, help=f"output folder (default {output})")
    p.add_argument("--steps", type=positive_int, default=steps,
                   help=f"optimizer steps (default {steps})")
    p.add_argument("--cache", default=str(_DEFAULT_CACHE),
                   help=f"{cache} (default {_DEFAULT_CACHE})")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _common(p: argparse.ArgumentParser, steps: int, output: str) -> None:
    _basics(p, steps, output, "decoded frames and teacher maps")
    p.add_argument("--batch", type=positive_int, default=8, help="pairs per step (default 8)")
    p.add_argument("--crop", type=positive_int, default=144,
                   help="square crop of the model-side frames, px (default 144)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    p.add_argument("--max-gap", type=positive_int, default=100,
                   help="real pairs are 1..N frames apart (default 100)")
    p.add_argument("--work-side", type=positive_int, default=512,
                   help="work size the runtime tracks and matches at (default 512)")
    p.add_argument("--validate-every", type=int, default=250,
                   help="steps between validations (default 250; 0: never)")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/last.pt")


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="train the generic PPCE model on portrait clips (torch)")
    _common(p, 3000, "runs/ppce")
    p.add_argument("--clips", default=str(_CLIPS),
                   help=f"folder of .mp4 training clips (default {_CLIPS})")
    p.add_argument("--val", nargs="*", default=["d10", "s18_camera"],
                   help="clip names held out for validation (default d10 s18_camera)")
    p.add_argument("--backbone", choices=("portrait", "dinov2_vits14"), default="portrait",
                   help="built-in portrait backbone (default) or DINOv2 ViT-S/14")
    p.add_argument("--dinov2-weights", metavar="PATH",
                   help="dinov2_vits14_pretrain.pth or a facebook/dinov2-small folder")
    p.add_argument("--side", type=positive_int, default=256,
                   help="longest side of the frames the networks see (default 256)")
    p.add_argument("--init-preset", choices=("none", "ultrafast", "fast", "medium"),
                   default="fast", help="DIS preset of the initial map (default fast)")
    p.add_argument("--init-lk", type=int, default=3,
                   help="Lucas-Kanade steps after DIS in the initial map (default 3)")
    p.add_argument("--pairs-per-clip", type=positive_int, default=300,
                   help="teacher pairs per training clip (default 300)")
    p.add_argument("--workers", type=positive_int, default=2,
                   help="processes computing teacher maps (default 2)")
    p.set_defaults(func=lambda a: _run("train", a))

    p = sub.add_parser("train-visibility",
                       help="train the visibility network on occluders composited over "
                       "portrait clips, score it against the classical signal, export ONNX "
                       "(torch)")
    _basics(p, 4000, "runs/visibility", "decoded frames and landmarks")
    p.add_argument("--clips", default=str(_CLIPS),
                   help=f"folder of .mp4 clips (default {_CLIPS})")
    p.add_argument("--val", nargs="*", default=["d10", "s18_camera", "hdtf_blue"],
                   help="clips held out for validation (default d10 s18_camera hdtf_blue)")
    p.add_argument("--samples", type=positive_int, default=8000,
                   help="training samples made up front (default 8000, about 1.2 GB of memory)")
    p.add_argument("--frames", type=positive_int, default=150,
                   help="frames decoded per clip (default 150)")
    p.set_defaults(func=lambda a: _run("train_visibility", a))

    p = sub.add_parser("fit", help="fit the generic model to one video (per-video, as the "
                                   "paper; torch)")
    p.add_argument("video", help="the video to fit to")
    _common(p, 300, "runs/fit")
    p.add_argument("--from", dest="start", metavar="CKPT",
                   help="checkpoint to start from (default: the shipped generic model)")
    p.add_argument("--frames", type=positive_int, default=100,
                   help="fit on the first N frames (default 100); later ones validate")
    p.add_argument("--pairs", type=positive_int, default=120,
                   help="teacher pairs drawn from those frames (default 120)")
    p.set_defaults(func=lambda a: _run("fit", a))

    p = sub.add_parser("export", help="export a checkpoint to backbone.onnx + head.onnx and "
                                      "their TorchScript twins, check onnxruntime against "
                                      "torch (torch)")
    p.add_argument("checkpoint", help="a .pt from train or fit")
    p.add_argument("-o", "--output", required=True, help="model folder to write")
    p.add_argument("--tensorrt", action="store_true",
                   help="also build fp16 TensorRT engines (needs tensorrt + a GPU)")
    p.add_argument("--engine-cache", default=str(Path.home() / ".cache" / "streamedit" /
                                                 "engines"), help="TensorRT engine cache")
    p.add_argument("--force", action="store_true", help="rebuild cached engines")
    p.set_defaults(func=lambda a: _run("export", a))
