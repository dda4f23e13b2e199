"""Resident memory of this process (Linux ``/proc``; ``resource`` elsewhere)."""

from __future__ import annotations

import resource
import sys


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0). False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident set size since start or the last :func:`reset_peak`, MiB."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _status_kib(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status, or None where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
