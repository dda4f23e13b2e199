"""Output paths that cannot hurt an input: same-file checks, and write-then-rename names.

A user's file is never opened for writing under its own name: outputs are written to a
hidden temporary file beside the final one and renamed over it when complete, so a crash or
a full disk never leaves a half-written file where the user expects a video.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from streamedit_sdk.errors import UnsafeOutputError

try:
    import fcntl
except ImportError:  # not POSIX: partial files are not locked, so none is ever removed
    fcntl = None

NOT_FILES = ("-", "virtualcam")  # targets that are pipes or devices, not files
# file extensions whose containers hold the H.264 video the SDK writes and any audio it copies
VIDEO_CONTAINERS = (".mp4", ".mov", ".mkv", ".m4v", ".ts")
_IMAGE_FORMATS = (".gif", ".png", ".jpg", ".jpeg", ".webp", ".apng", ".bmp", ".tif", ".tiff")


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


def check_video_output(name: str, target: str | os.PathLike | None) -> None:
    """Refuse a video output file whose extension names a container the SDK cannot write
    H.264 into (``.webm``, ``.gif``, an image, no extension), before any work is done.
    Pipes, URLs and None pass. Raises :class:`ValueError` naming the containers that work."""
    if target is None or not is_file_target(target):
        return
    path = Path(target)
    if path.is_dir():
        raise ValueError(f"{name} {path} is a folder: give a file name in it (e.g. "
                         f"{path / 'edited.mp4'})")
    ext = path.suffix.lower()
    if ext in VIDEO_CONTAINERS:
        return
    example = path.with_name((path.stem if ext else path.name).rstrip(".") + ".mp4").name
    works = f"use .mp4 (plays everywhere), .mov, .mkv or .ts (e.g. {example})"
    if not ext:
        why = "has no extension, so its format is unknown"
    elif ext in _IMAGE_FORMATS:
        why = f"is an image format ({ext}), and the output is a video"
    elif ext == ".webm":
        why = "is WebM, which holds VP8/VP9/AV1 only, and the SDK writes H.264"
    else:
        why = f"is a {ext} file, a container the SDK does not write H.264 into"
    raise ValueError(f"{name} {path} {why}: {works}")


def partial_path(final: Path) -> Path:
    """The hidden name an output is written under until it is complete (same folder, same
    extension, so the container format is the same): ``.NAME.partial-PID.EXT``."""
    return final.with_name(f".{final.stem}.partial-{os.getpid()}{final.suffix}")


class PartialLock:
    """An exclusive lock on a partial file, held while its run writes it.

    The kernel drops the lock when the process dies, however it dies (SIGKILL, power loss
    on reboot), so a later run can tell a partial file of a live run from one left behind:
    :func:`remove_stale_partials`. Taken on our own descriptor of the file; the writer opens
    it again by name (one inode, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        """Drop the lock (after the file was renamed or removed). Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _unlocked(path: Path) -> bool:
    """Whether no process holds ``path``'s :class:`PartialLock` (False when unsure)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # (closing drops a lock we took)
    return True


def remove_stale_partials(final: Path) -> list[Path]:
    """Remove the partial files of ``final`` (:func:`partial_path`) that runs killed without
    a chance to clean up (SIGKILL, a crash, power loss) left in its folder, and return them.

    A partial file is removed only when both say its run is gone: no process has its PID on
    this machine and nobody holds its :class:`PartialLock`. A live run's file is never
    touched, nor one whose PID now belongs to another process (kept: cannot be sure)."""
    pattern = re.compile(rf"\.{re.escape(final.stem)}\.partial-(\d+){re.escape(final.suffix)}")
    try:
        entries = list(final.parent.iterdir())
    except OSError:
        return []
    removed = []
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None or int(m.group(1)) == os.getpid() or not entry.is_file():
            continue
        if _pid_alive(int(m.group(1))) or not _unlocked(entry):
            continue
        try:
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed
