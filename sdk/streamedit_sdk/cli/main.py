"""The ``streamedit`` command."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

from streamedit_sdk import __version__
from streamedit_sdk.cli import build as cli_build
from streamedit_sdk.cli import edit as cli_edit
from streamedit_sdk.cli import evaluate as cli_eval
from streamedit_sdk.cli import serve as cli_serve
from streamedit_sdk.cli import stream as cli_stream
from streamedit_sdk.cli.options import positive_int, size

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
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
