"""``streamedit stream``: a live edit between pipes, URLs, files and a virtual camera."""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

from streamedit_sdk.apps.signals import exit_status
from streamedit_sdk.cli.options import (USER_ERRORS, add_low_latency_option, add_token_options,
                                        editor_config, editor_defaults, fail, os_error_message,
                                        positive_float, positive_int, say, size,
                                        token_from)
from streamedit_sdk.config import BACKENDS, MODES


def _cmd_stream(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.stream import (AVSink, AVSource, RawSink, RawSource, StreamOptions,
                                            StreamRunner, VirtualCamSink, open_control)
    from streamedit_sdk.apps.stream.control import check_control
    from streamedit_sdk.core.editor import StreamEditor
    from streamedit_sdk.edits.spec import EditSpec
    from streamedit_sdk.io.paths import check_outputs, check_video_output

    source = sink = None
    try:
        check_outputs([("--input", args.input)], [("--output", args.output),
                                                  ("--stats-json", args.stats_json)])
        if args.output != "virtualcam":
            check_video_output("--output", args.output)
        token = token_from(args, "control-token")
        if token is not None and not (args.control or "").startswith("http"):
            raise ValueError("--control-token guards an HTTP control endpoint: give "
                             "--control http://HOST:PORT too")
        if args.control:
            check_control(args.control, token)
        spec = EditSpec(edited_ref=args.edited_ref, style=args.style, sticker=args.sticker,
                        sticker_at=args.sticker_at)
        options = StreamOptions(policy=args.policy, queue_size=args.queue,
                                realtime=args.realtime, max_frames=args.max_frames or 0)
        config = editor_config(args, spec)
        if args.input == "-":
            if args.size is None:
                raise ValueError("--input - (raw rgb24 frames) needs --size WxH")
            source = RawSource(sys.stdin.buffer, args.size, args.fps)
        else:
            source = AVSource(args.input, read_timeout=args.read_timeout)
        fps = Fraction(args.fps) if args.fps else (source.fps or Fraction(25))
        if args.output == "-":
            sink = RawSink(sys.stdout.buffer)
        elif args.output == "virtualcam":
            sink = VirtualCamSink(args.size or source.size, fps)
        else:
            sink = AVSink(args.output, fps, audio_from=args.input)
    except USER_ERRORS as exc:
        if source is not None:
            source.close()
        return fail("stream", str(exc))
    runner = None
    control = None
    try:
        with StreamEditor(config) as editor:
            runner = StreamRunner(source, sink, editor, spec, options,
                                  report=lambda line: say(line, sys.stderr),
                                  follow_mode=args.mode is None)
            if args.control:
                control = open_control(args.control, runner.stats.summary, token)
                runner.control = control
                say(f"control: {getattr(control, 'url', args.control)}", sys.stderr)
            stats = runner.run()
    except USER_ERRORS as exc:
        return fail("stream", str(exc))
    except OSError as exc:  # a control port in use, an output folder that cannot be written
        return fail("stream", os_error_message(exc))
    finally:
        if control is not None:
            control.close()
        if runner is None:  # failed before streaming: the runner did not close them
            sink.close()
            source.close()
    if args.stats_json:
        Path(args.stats_json).write_text(json.dumps(stats.summary(), indent=2) + "\n")
    return exit_status(stats.stopped_by)


def _cmd_soak(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.bench import soak
    from streamedit_sdk.apps.bench.machine import describe

    try:
        result = soak.run(args.frames, args.size, min(args.checkpoint, args.frames),
                          args.backend, progress=not args.quiet, low_latency=args.low_latency)
    except USER_ERRORS as exc:
        return fail("soak", str(exc))
    result["machine"] = describe()
    c, e = result["checkpoint"], result["end"]
    print(f"soak: {result['frames']} frames at {result['size']} ({result['stream']['fps']} fps); "
          f"RSS {c['rss_mb']} MiB at frame {c['frame']}, {e['rss_mb']} MiB at frame "
          f"{e['frame']} ({result['rss_growth_pct']:+.2f} %); open files {c['fds']} -> "
          f"{e['fds']}; threads {c['threads']} -> {e['threads']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"json: {args.json}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``stream`` and ``soak`` on the ``streamedit`` parser."""
    p = sub.add_parser("soak", help="a long stream watched for leaks (memory, files, threads)")
    p.add_argument("--frames", type=positive_int, default=10_000,
                   help="frames to stream (default 10000)")
    p.add_argument("--checkpoint", type=positive_int, default=1_000,
                   help="frame compared with the last (default 1000)")
    p.add_argument("--size", type=size, default=(512, 512), metavar="WxH")
    p.add_argument("--backend", choices=BACKENDS, default="ort-cpu")
    add_low_latency_option(p)
    p.add_argument("--json", metavar="FILE", help="write the samples as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_soak)

    p = sub.add_parser(
        "stream", help="edit a live stream: ffmpeg pipes, URLs, files, a virtual camera",
        description="Read frames from --input, carry the edit of the first frame with a face "
        "onto every frame, write them to --output in order. Statistics on stderr at the end "
        "and on SIGUSR1. SIGINT / SIGTERM / SIGHUP stop reading: the frames already queued "
        "are still edited and written (for at most 10 s; a second signal abandons them), the "
        "output is finalised (a file stays playable) and the exit status is 130 / 143 / "
        "129. A file input's audio is copied into a file output.")
    p.add_argument("--input", required=True, metavar="SRC",
                   help="'-' (raw rgb24 frames on stdin, needs --size), a video file, or a URL "
                   "FFmpeg reads (udp://, srt://, rtmp://, http://)")
    p.add_argument("--output", required=True, metavar="DST",
                   help="'-' (raw rgb24 on stdout), a video file, a URL (udp:// and srt:// "
                   "as MPEG-TS, rtmp:// as FLV), or 'virtualcam' (pyvirtualcam)")
    p.add_argument("--size", type=size, metavar="WxH", help="frame size of raw input")
    p.add_argument("--fps", type=float, help="frame rate of the output (default: the input's, "
                   "else 25)")
    edit = p.add_mutually_exclusive_group(required=True)
    edit.add_argument("--style", metavar="NAME", help="built-in style")
    edit.add_argument("--sticker", metavar="IMG", help="sticker PNG, or 'star'")
    edit.add_argument("--edited-ref", type=Path, metavar="IMG",
                      help="an edited first frame (same size as the frames)")
    p.add_argument("--sticker-at", default="cheek", choices=["cheek", "cheek-right", "forehead"])
    p.add_argument("--mode", choices=MODES, help="as in `edit` (default: residual for "
                   "stickers and small edits, replace for styles and whole-look edits)")
    p.add_argument("--backend", choices=BACKENDS, default="ort-cpu",
                   help="where the editor runs (default ort-cpu)")
    add_low_latency_option(p)
    p.add_argument("--policy", choices=("queue", "drop"), default="queue",
                   help="when editing falls behind: queue (bounded, back-pressure, no frame "
                   "lost) or drop (drop the oldest waiting frame; counted; a file or URL keeps "
                   "the gap in time, a raw pipe gets the last frame again in its slot) "
                   "(default queue)")
    p.add_argument("--queue", type=positive_int, default=4, metavar="N",
                   help="frames that may wait (default 4)")
    p.add_argument("--realtime", action="store_true",
                   help="read a file input at its frame rate, as a live source would arrive")
    p.add_argument("--max-frames", type=positive_int, metavar="N",
                   help="stop after N input frames")
    p.add_argument("--read-timeout", type=positive_float, default=10.0, metavar="S",
                   help="a URL input silent for S seconds has ended (default 10)")
    p.add_argument("--control", metavar="FILE|URL",
                   help="change the edit while streaming: a JSON file to watch, or "
                   "http://127.0.0.1:PORT to serve POST /edit and GET /stats (another "
                   "address needs --control-token)")
    add_token_options(p, "control-token", "a secret every control request must carry as "
                      "'Authorization: Bearer TOKEN'")
    p.add_argument("--stats-json", metavar="FILE", help="also write the statistics as JSON")
    editor_defaults(p)
    p.set_defaults(func=_cmd_stream)
