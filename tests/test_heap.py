"""streamedit_sdk.core.heap: freed frame-sized arrays are reused, not faulted in again each frame.

Each check runs in a fresh interpreter: the settings are the process's, once made."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="glibc malloc settings (Linux only)")

# Page faults over 40 "frames" of arrays made and dropped on a worker thread and on the main
# thread, as the editor's stages do (a worker's heap is where glibc gave freed pages back).
FRAMES = """
import resource, sys
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from streamedit_sdk.core import heap
if sys.argv[1] == "keep":
    print(heap.keep_frame_buffers(), heap.keep_frame_buffers())
def frame():
    a = np.ones((512, 512, 3), np.float32); b = np.ones((512, 512, 2), np.float32)
    c = a[..., :2] + b; del a
    d = np.ones((256, 256, 3), np.float32); e = c * 2; del b, c
    return float(e.sum() + d.sum())
pool = ThreadPoolExecutor(1)
frame(); pool.submit(frame).result()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    pool.submit(frame).result(); frame()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
PAGES_PER_FRAME = 2 * (512 * 512 * 3 * 4 + 2 * 512 * 512 * 2 * 4) // 4096  # made, both threads


def _faults(how: str, **env: str) -> tuple[list[str], int]:
    done = subprocess.run([sys.executable, "-c", FRAMES, how], capture_output=True, text=True,
                          env={**os.environ, **env}, check=True)
    *said, faults = done.stdout.split()
    return said, int(faults)


def test_freed_frame_buffers_are_reused():
    said, kept = _faults("keep")
    assert said == ["True", "False"]  # made once per process
    _, default = _faults("default")
    assert kept < 40 * PAGES_PER_FRAME * 0.1  # most frames fault no page in
    assert default > 40 * PAGES_PER_FRAME * 0.3  # glibc's defaults: most are faulted again


def test_settings_in_the_environment_win():
    small = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    said, faults = _faults("keep", **small)
    assert said == ["False", "False"]  # nothing set
    assert faults > 40 * PAGES_PER_FRAME * 0.3  # and the environment's settings hold


def test_the_editor_flag_is_checked():
    from streamedit_sdk.config import EditorConfig

    with pytest.raises(TypeError, match="keep_frame_buffers must be True or False"):
        EditorConfig(keep_frame_buffers="yes")
