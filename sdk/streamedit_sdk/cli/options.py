"""Argument types and error reporting shared by the ``streamedit`` subcommands."""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
from typing import TextIO

from streamedit_sdk.apps.access import read_token_file
from streamedit_sdk.config import EditorConfig, FaceLead, ReplacementConfig, Visibility
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.errors import BackendUnavailableError

# Errors a user can fix: printed as one line, exit status 2 (no traceback).
USER_ERRORS = (ValueError, FileNotFoundError, ImportError, BackendUnavailableError)


def fail(command: str, message: str) -> int:
    """Print ``streamedit COMMAND: error: MESSAGE`` on stderr; the exit status to return (2)."""
    say(f"streamedit {command}: error: {message}", sys.stderr)
    return 2


def say(text: str, stream: TextIO | None = None) -> None:
    """Print a line for the user on ``stream`` (default stdout). A terminal that is gone
    (SIGHUP: a closed terminal or ssh session) or a closed pipe is not an error once the
    work is done: the line is dropped, and the stream is pointed at /dev/null so that
    nothing later (Python's flush at exit) fails over it either."""
    out = stream or sys.stdout
    try:
        print(text, file=out, flush=True)
    except (OSError, ValueError):  # EIO / EPIPE; ValueError: the stream was closed
        _to_devnull(out)


def _to_devnull(stream: TextIO) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def os_error_message(exc: OSError) -> str:
    """One line for an environment error (no traceback): what failed, where, and what to do."""
    what = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    hint = {errno.ENOSPC: "free some space or write elsewhere",
            errno.EACCES: "choose a folder you can write to",
            errno.EROFS: "the file system is read-only: choose another folder",
            errno.EADDRINUSE: "the port is taken: choose another",
            errno.ECONNREFUSED: "is the server running?"}.get(exc.errno, "")
    return f"{what}{where}" + (f": {hint}" if hint else "")


def size(text: str) -> tuple[int, int]:
    """``WxH`` -> (width, height), both >= 1."""
    m = re.fullmatch(r"(\d+)x(\d+)", text.strip().lower())
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720 (WxH), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}")
    return value


def frame_index(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a frame index >= 0, got {text!r}")
    return int(text)


def add_correspondence_options(p) -> None:
    """``--correspondence``, ``--no-face-lead``, ``--model-dir`` and ``--full-refine`` (edit,
    eval)."""
    p.add_argument("--correspondence", choices=("auto", "ppce", "flow"), default="auto",
                   help="flow: the face mesh's warp refined by DIS optical flow, no weights; "
                   "ppce: the learned network; auto (default): flow on the CPU, ppce on a GPU")
    p.add_argument("--no-face-lead", dest="face_lead", action="store_false",
                   help="let flow or the network move face pixels freely instead of the face "
                   "mesh leading with a smooth, bounded correction (for comparison: stickers "
                   "drag and tear)")
    p.add_argument("--model-dir", metavar="DIR",
                   help="PPCE model folder written by `streamedit fit` or `export` (default: the "
                   "generic model shipped in the package)")
    p.add_argument("--full-refine", type=int, default=EditorConfig().full_refine, metavar="N",
                   help="frames larger than the work size: N Lucas-Kanade steps of the "
                   "correspondence at the frame's own resolution (default %(default)s: 0.8-1.2 "
                   "dB more reconstruction on 700 px-1080p clips, about 8 ms a step at 720p "
                   "on two cores; 0: none, fastest)")
    p.add_argument("--visibility", choices=("network", "residual", "off"), default="network",
                   help="what decides where the face is hidden (a hand, an object, hair in "
                   "front of it) so the edit is not drawn there: network (default): the "
                   "shipped visibility network, about 3 ms a frame; residual: the classical "
                   "signal (regions unlike the reference), more false alarms; off: draw the "
                   "edit everywhere the face mesh is")
    add_flow_start_option(p)


def add_flow_start_option(p) -> None:
    """``--flow-start`` (edit, eval, bench): :attr:`EditorConfig.flow_start`."""
    p.add_argument("--flow-start", choices=("previous", "mesh"),
                   default=EditorConfig().flow_start,
                   help="correspondence flow: where DIS starts; previous (default): from the "
                   "last frame's map, so the face mesh runs beside it on another core; mesh: "
                   "from the face mesh's warp on every frame, after the mesh (slower)")


def add_low_latency_option(p) -> None:
    """``--low-latency`` (edit, stream, eval, bench): :meth:`EditorConfig.low_latency`."""
    p.add_argument("--low-latency", action="store_true",
                   help="keep the face mesh and the inpainting of new references off each "
                   "frame's path: frame t is warped with frame t-1's landmarks, a new "
                   "reference gets its inpainted edit 3 frames after it is taken (made on a "
                   "worker thread meanwhile), and the face mesh follows one face (its face "
                   "detector runs only when the face is lost)")


def add_token_options(p, flag: str, purpose: str) -> None:
    """``--FLAG`` and ``--FLAG-file`` (serve's token, stream's control token), exclusive."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(f"--{flag}", help=f"{purpose} (at least 16 characters; required to "
                       "bind anything but loopback)")
    group.add_argument(f"--{flag}-file", metavar="FILE",
                       help=f"read the {flag.replace('-', ' ')} from FILE's first line (keeps "
                       "it out of the process list)")


def token_from(args: argparse.Namespace, flag: str) -> str | None:
    """The value of ``--FLAG``, or the first line of ``--FLAG-file`` (ValueError if empty)."""
    dest = flag.replace("-", "_")
    path = getattr(args, f"{dest}_file")
    return getattr(args, dest) if path is None else read_token_file(path)


# What a command that has no such option runs with: the configuration's own defaults.
_EDITOR, _REPLACEMENT = EditorConfig(), ReplacementConfig()
EDITOR_DEFAULTS = {"backend": _EDITOR.backend, "mode": None, "work_side": _EDITOR.work_side,
                   "correspondence": _EDITOR.correspondence, "model_dir": _EDITOR.model_dir,
                   "face_lead": _EDITOR.face_lead is not None,
                   "full_refine": _EDITOR.full_refine, "flow_start": _EDITOR.flow_start,
                   "replace_above": _REPLACEMENT.replace_above, "replace_every": None,
                   "no_replace": not _REPLACEMENT.enabled, "low_latency": False,
                   "visibility": _EDITOR.visibility.occluders}


def editor_config(args: argparse.Namespace, spec: EditSpec | None = None) -> EditorConfig:
    """The one mapping of command-line options to an :class:`EditorConfig`.

    ``spec``: the edit, whose kind picks the mode when ``--mode`` is not given (a sticker is
    carried as a residual, whole-frame edits as pixels); None: replace. The ARR hysteresis
    re-arms at half the replacement threshold, at most 0.06.
    """
    mode = args.mode or (spec.default_mode if spec is not None else "replace")
    config = EditorConfig(
        backend=args.backend, mode=mode, work_side=args.work_side,
        correspondence=args.correspondence, model_dir=args.model_dir,
        face_lead=FaceLead() if args.face_lead else None, full_refine=args.full_refine,
        flow_start=args.flow_start,
        visibility=None if args.visibility in ("off", "none") else Visibility(
            occluders=args.visibility),
        replacement=ReplacementConfig(enabled=not args.no_replace,
                                      interval=args.replace_every or 0,
                                      replace_above=args.replace_above,
                                      rearm_below=min(args.replace_above / 2, 0.06)))
    return config.low_latency() if args.low_latency else config


def editor_defaults(p: argparse.ArgumentParser) -> None:
    """Give ``p`` every editor option it does not declare, at its default."""
    p.set_defaults(**{k: v for k, v in EDITOR_DEFAULTS.items() if p.get_default(k) is None})
