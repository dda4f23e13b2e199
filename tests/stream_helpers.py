"""What the live-stream tests share: synthetic frames and a clip of them, list sources and
sinks, and a runner over them."""

from __future__ import annotations

import time

import pytest

import streamedit_sdk as se
from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.stream import StreamRunner
from streamedit_sdk.io.video import VideoWriter


@pytest.fixture(scope="module")
def frames():
    return synthetic.clip(24)[0]


@pytest.fixture(scope="module")
def clip_file(frames, tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "moving.mp4"
    with VideoWriter(path, 25) as w:
        for f in frames:
            w.write(f)
    return path


class ListSource:
    """Frames from a list, optionally calling ``hook(i)`` before yielding frame i."""

    live = False
    fps = None

    def __init__(self, frames, hook=None):
        self.frames, self.hook = frames, hook
        self.size = (frames[0].shape[1], frames[0].shape[0])

    def __iter__(self):
        for i, f in enumerate(self.frames):
            if self.hook is not None:
                self.hook(i)
            yield f

    def close(self):
        pass


class ListSink:
    def __init__(self, delay: float = 0.0):
        self.frames, self.delay, self.closed = [], delay, False

    def write(self, rgb, seconds=None):
        if self.delay:
            time.sleep(self.delay)
        self.frames.append(rgb.copy())

    def close(self):
        self.closed = True


def run_stream(frames, spec, sink=None, options=None, control=None, hook=None):
    """(sink, stats) of a StreamRunner over ``frames`` with a fresh editor."""
    sink = sink or ListSink()
    with se.StreamEditor() as editor:
        runner = StreamRunner(ListSource(frames, hook), sink, editor, spec, options, control,
                              report=lambda line: None)
        stats = runner.run()
    return sink, stats
