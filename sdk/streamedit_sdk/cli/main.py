"""The ``streamedit`` command."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
from pathlib import Path

from streamedit_sdk import __version__
from streamedit_sdk.cli import build as cli_build
from streamedit_sdk.cli import edit as cli_edit
from streamedit_sdk.cli import evaluate as cli_eval
from streamedit_sdk.cli import serve as cli_serve
from streamedit_sdk.cli import stream as cli_stream
from streamedit_sdk.apps.signals import STOP_SIGNALS, exit_status
from streamedit_sdk.cli.options import positive_int, say, size

log = logging.getLogger("streamedit")


def _cmd_bench_kernels(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.bench import kernels as bench
    from streamedit_sdk.apps.bench.machine import describe

    sizes = args.size or list(bench.DEFAULT_SIZES)
    rows = bench.run(sizes, repeat=args.repeat, threads=args.threads)
    machine = describe()
    print(f"# kernel benchmark: {machine['cpu']}, {rows[0].threads} threads, "
          f"median of {args.repeat} calls")
    print(bench.format_table(rows))
    for verdict in bench.check_targets(rows):
        print(verdict)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        report = bench.to_json(rows, machine)
        report["date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {path}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from streamedit_sdk.apps.bench.machine import describe

    print(json.dumps(describe(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamedit",
        description="StreamEdit SDK: propagate an edit of one portrait frame through a video.")
    parser.add_argument("--version", action="version", version=f"streamedit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bench-kernels",
                       help="time the C++ kernels against cv2.remap and a numpy reference")
    p.add_argument("--size", type=size, action="append",
                   help="frame size WxH, repeatable (default: 512x512 1280x720 1920x1080)")
    p.add_argument("--repeat", type=positive_int, default=50,
                   help="timed calls per kernel (default 50)")
    p.add_argument("--threads", type=int, default=0,
                   help="threads for the C++ kernels and OpenCV (default: all cores)")
    p.add_argument("--json", metavar="FILE", help="also write the results and machine as JSON")
    p.set_defaults(func=_cmd_bench_kernels)

    cli_edit.add_commands(sub)
    cli_stream.add_commands(sub)
    cli_serve.add_commands(sub)
    cli_eval.add_commands(sub)
    cli_build.add_commands(sub)

    p = sub.add_parser("info", help="print the machine, versions and kernel build as JSON")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    _quiet_ffmpeg(args.verbose)
    try:
        status = int(args.func(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C outside the guarded loops (loading, a prompt edit):
        # no output is open there (edit and stream open theirs under StopSignals)
        say(f"streamedit {args.command}: interrupted", sys.stderr)
        status = exit_status("SIGINT")
    return status


def run() -> None:
    """The ``streamedit`` executable: :func:`main`, then exit with its status. After a stop
    by a signal, one more Ctrl-C while the interpreter shuts down changes nothing (it would
    turn exit status 130 into a death by SIGINT, the file already complete)."""
    status = main()
    if status > 128:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
    sys.exit(status)


def _quiet_ffmpeg(verbose: bool) -> None:
    """FFmpeg's own log lines (a damaged packet's 'error while decoding MB ...') stay off
    the terminal: the commands report what they mean (skipped frames, a truncated file);
    ``-v`` shows FFmpeg's warnings and errors."""
    try:
        import av.logging
    except ImportError:
        return
    av.logging.set_libav_level(av.logging.WARNING if verbose else av.logging.FATAL)


if __name__ == "__main__":
    run()
