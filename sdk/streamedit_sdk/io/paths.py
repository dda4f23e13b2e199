"""Output paths that cannot hurt an input: same-file checks, and write-then-rename names.

A user's file is never opened for writing under its own name: outputs are written to a
hidden temporary file beside the final one and renamed over it when complete, so a crash or
a full disk never leaves a half-written file where the user expects a video.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from streamedit_sdk.errors import UnsafeOutputError

NOT_FILES = ("-", "virtualcam")  # targets that are pipes or devices, not files


def is_file_target(target: str | os.PathLike) -> bool:
    """True for a path on disk; False for '-', 'virtualcam' and URLs (``scheme://``)."""
    text = os.fspath(target)
    return text not in NOT_FILES and "://" not in text


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file: through ``./``, ``..``, symlinks and hard links."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they resolve to
        return Path(a).resolve() == Path(b).resolve()


def check_outputs(inputs: Iterable[tuple[str, str | os.PathLike | None]],
                  outputs: Iterable[tuple[str, str | os.PathLike | None]]) -> None:
    """Refuse outputs that are an input or another output.

    ``inputs`` / ``outputs``: (option name, target) pairs, e.g. ``("--output", path)``; None
    targets and non-file targets (pipes, URLs, devices) are skipped.

    Raises :class:`UnsafeOutputError` naming both options and what to do.
    """
    ins = [(name, t) for name, t in inputs if t is not None and is_file_target(t)]
    seen: list[tuple[str, str | os.PathLike]] = []
    for name, target in outputs:
        if target is None or not is_file_target(target):
            continue
        for in_name, source in ins:
            if same_file(target, source):
                raise UnsafeOutputError(
                    f"{name} {target} is the input video {source} ({in_name}): writing it "
                    "would destroy the input; choose another output name")
        for other_name, other in seen:
            if same_file(target, other):
                raise UnsafeOutputError(
                    f"{name} {target} is the same file as {other_name} {other}: give each "
                    "output its own name")
        seen.append((name, target))


def partial_path(final: Path) -> Path:
    """The hidden name an output is written under until it is complete (same folder, same
    extension, so the container format is the same): ``.NAME.partial-PID.EXT``."""
    return final.with_name(f".{final.stem}.partial-{os.getpid()}{final.suffix}")
