"""Resident memory of this process (Linux ``/proc``; ``resource`` elsewhere)."""

from __future__ import annotations

import resource
import sys
from typing import Callable

from streamedit_sdk.config import Placement


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
    kib = status_kib("VmHWM")
    if kib is not None:
        return kib / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def status_kib(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status, or None where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _cuda_torch(where: Placement):
    """torch when the editor runs on a GPU, else None."""
    if where.device != "cuda":
        return None
    import torch

    return torch if torch.cuda.is_available() else None


def device_sync(where: Placement) -> Callable[[], None] | None:
    """What waits for the GPU's queued work (None on the host)."""
    torch = _cuda_torch(where)
    return None if torch is None else torch.cuda.synchronize


class GpuPeak:
    """Peak GPU memory torch allocated from construction on (None on the host backends)."""

    def __init__(self, where: Placement) -> None:
        self._torch = _cuda_torch(where)
        if self._torch is not None:
            self._torch.cuda.reset_peak_memory_stats()

    def peak_mb(self) -> float | None:
        if self._torch is None:
            return None
        return round(self._torch.cuda.max_memory_allocated() / (1024.0 * 1024.0), 1)
