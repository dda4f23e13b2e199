"""glibc malloc settings for a process that edits video frame after frame.

Every frame allocates and frees the same few dozen frame-sized arrays (maps, edits, masks:
0.25-25 MB each). glibc serves blocks over 128 KB with a fresh ``mmap`` and unmaps them when
freed (its threshold adapts upwards only while the blocks are freed in the order it expects),
and the heaps of worker threads give freed memory back to the system as soon as enough of it
is free. Either way the next frame's arrays start on pages the kernel must fault in and zero
again, and the system time that costs shows in every stage.

:func:`keep_frame_buffers` sets both thresholds, so freed frame buffers stay in the heap and
the next frame reuses them. d11 at 512x512, ``StreamEditor.process`` on 160 frames and the
DIS baseline on 160 more, two runs each (``bench/results/2026-12-03-cpu/``): page faults
503,000-565,000 -> 73,000; the editor's wall time per frame 39.5-40.9 -> 37.0-37.2 ms, its CPU
time 59.4-61.3 -> 55.8-56.0 ms; peak RSS 366-367 -> 371-372 MB. :func:`cap_arenas` bounds
the heaps of a process that starts threads for every stream (``streamedit serve``).

Both change the whole process and leave alone any setting the environment already makes
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_ARENA_MAX``); elsewhere than
on glibc (musl, macOS, Windows) they do nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

MMAP_THRESHOLD = 32 << 20  # bytes: blocks up to this size come from the heap (glibc's most
# on 64-bit: a 1920x1080x3 float32 edit, 24 MB, stays in it)
TRIM_THRESHOLD = 128 << 20  # bytes free at the heap's top before glibc gives them back
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt's parameters

_lock = threading.Lock()
_kept = False


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") else None
    except OSError:  # not glibc (musl)
        return None


def _set(libc: ctypes.CDLL, env: str, param: int, value: int) -> bool:
    """mallopt(param, value) unless ``env`` is set; True when it took."""
    if env in os.environ:
        return False
    if libc.mallopt(param, value) != 1:
        log.debug("mallopt(%d, %d) refused", param, value)
        return False
    return True


def keep_frame_buffers() -> bool:
    """Keep freed frame-sized buffers in the heap for the next frame (see the module
    docstring). Once per process; later calls do nothing. True when a setting was made."""
    global _kept
    with _lock:
        if _kept:
            return False
        _kept = True
        libc = _libc()
        if libc is None:
            return False
        trim = _set(libc, "MALLOC_TRIM_THRESHOLD_", _M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        mmap = _set(libc, "MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        return trim or mmap


def cap_arenas(arenas: int) -> bool:
    """At most ``arenas`` glibc heaps for the process's threads (glibc's default is up to 8
    per core, each keeping what it once held). Nothing when ``MALLOC_ARENA_MAX`` is set.
    True when the cap was made."""
    libc = _libc()
    return libc is not None and _set(libc, "MALLOC_ARENA_MAX", _M_ARENA_MAX, arenas)
