"""``streamedit edit`` and ``streamedit demo``: argument parsing and messages only."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from streamedit_sdk.apps.signals import exit_status
from streamedit_sdk.cli.options import (USER_ERRORS, add_correspondence_options,
                                        add_low_latency_option, editor_config, editor_defaults,
                                        fail, fraction, frame_index, os_error_message,
                                        positive_int, say)
from streamedit_sdk.cli.prompt import add_prompt_options, prompt_edit
from streamedit_sdk.config import BACKENDS, MODES
from streamedit_sdk.io.video import PIX_FMTS

log = logging.getLogger("streamedit")


def _cmd_edit(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.edit_file import edit_video
    from streamedit_sdk.edits.spec import EditSpec

    try:
        spec = EditSpec(edited_ref=args.edited_ref, style=args.style, sticker=args.sticker,
                        sticker_at=args.sticker_at, prompt=prompt_edit(args),
                        check_colours=not args.keep_colours)
        config = editor_config(args, spec)
        summary = edit_video(args.input, args.output, spec, config=config,
                             ref_frame=args.ref_frame, compare=args.compare,
                             progress=not args.quiet, pix_fmt=args.pix_fmt, mode=args.mode)
    except USER_ERRORS as exc:
        return fail("edit", str(exc))
    except OSError as exc:  # a read-only folder, a full disk: nothing was left half-written
        return fail("edit", os_error_message(exc))
    if summary.frames == 0:
        say(f"interrupted by {summary.interrupted_by} before the first frame: nothing "
            "written", sys.stderr)
    else:
        say(summary.line())
    return exit_status(summary.interrupted_by)


def _cmd_demo(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.demo import run_demo

    try:
        out = run_demo(args.output, frames=args.frames, progress=not args.quiet)
    except USER_ERRORS as exc:
        return fail("demo", str(exc))
    say(out.summary.line())
    say(f"input clip:   {out.input.resolve()}")
    say(f"edited clip:  {out.output.resolve()}")
    say(f"side by side: {out.compare.resolve()}")
    say(f"frame strip:  {out.strip.resolve()}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``edit`` and ``demo`` on the ``streamedit`` parser."""
    p = sub.add_parser("edit", help="carry an edit of one frame onto every frame of a video",
                       description="Edit one frame (an image you edited, a built-in style, a "
                       "sticker or a text prompt) and propagate it through the video. Audio is "
                       "copied.")
    p.add_argument("input", type=Path, help="input video file")
    p.add_argument("-o", "--output", type=Path, required=True, help="output video (.mp4)")
    edit = p.add_mutually_exclusive_group(required=True)
    edit.add_argument("--edited-ref", type=Path, metavar="IMG",
                      help="your edited version of the reference frame (same size)")
    edit.add_argument("--style", metavar="NAME", help="built-in style: cartoon, teal-orange, "
                      "sketch")
    edit.add_argument("--sticker", metavar="IMG",
                      help="sticker image (PNG with alpha), or 'star' for the built-in one")
    add_prompt_options(p, edit)
    p.add_argument("--keep-colours", action="store_true",
                   help="take --edited-ref's colours as they are, even where they look like "
                   "the frame's with red and blue swapped (an edit that swaps them on purpose)")
    p.add_argument("--sticker-at", default="cheek", choices=["cheek", "cheek-right", "forehead"],
                   help="where the sticker goes (default: cheek)")
    p.add_argument("--ref-frame", type=frame_index, default=0, metavar="N",
                   help="index of the reference frame (default 0)")
    p.add_argument("--mode", choices=MODES,
                   help="replace: warp the edited pixels (paper); residual: warp the edit's "
                   "difference and add it to the live frame (default: residual for a sticker "
                   "and for an edited frame or prompt that changes at most a quarter of the "
                   "picture, replace for a style or a bigger change; the summary says which)")
    p.add_argument("--backend", choices=BACKENDS, default="ort-cpu",
                   help="inference backend (default ort-cpu)")
    add_low_latency_option(p)
    add_correspondence_options(p)
    p.add_argument("--work-side", type=int, default=512, metavar="PX",
                   help="longest side at which correspondence is estimated (default 512)")
    p.add_argument("--replace-above", type=fraction, default=0.12, metavar="F",
                   help="replace the reference when this share of the person is uncertain "
                   "(default 0.12)")
    replace = p.add_mutually_exclusive_group()
    replace.add_argument("--replace-every", type=positive_int, metavar="N",
                         help="a new reference every N frames instead of ARR")
    replace.add_argument("--no-replace", action="store_true",
                         help="keep the first reference for the whole video (no ARR)")
    p.add_argument("--compare", type=Path, metavar="FILE",
                   help="also write a side-by-side video, input | output")
    p.add_argument("--pix-fmt", choices=PIX_FMTS, default="yuv420p",
                   help="yuv420p plays everywhere (an odd width or height gets one repeated "
                   "edge pixel); yuv444p keeps odd sizes exactly (default yuv420p)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    editor_defaults(p)
    p.set_defaults(func=_cmd_edit)

    p = sub.add_parser("demo", help="make a short clip, pin a sticker on it, write the videos "
                       "(needs no input)",
                       description="Animate a portrait photo into a short clip, pin the star "
                       "sticker to her cheek and carry it through the clip. Writes, in the "
                       "folder: demo_input.mp4 (the clip), demo.mp4 (edited), "
                       "demo_compare.mp4 (input | edited) and demo_frames.png (four frames "
                       "of the comparison, numbered); prints the summary line and the four "
                       "paths.")
    p.add_argument("-o", "--output", type=Path, default=Path("streamedit-demo"), metavar="DIR",
                   help="folder for the four files (default ./streamedit-demo)")
    p.add_argument("--frames", type=positive_int, default=90,
                   help="length of the clip, at least 2 (default 90)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)
