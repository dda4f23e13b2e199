"""Live streams: ``streamedit stream`` between ffmpeg pipes, URLs, files and a virtual camera,
with the edit changeable while running (see :mod:`.runner` for the policies and signals)."""

from streamedit_sdk.apps.stream.control import EditRequest, HttpControl, WatchedFile, open_control
from streamedit_sdk.apps.stream.runner import POLICIES, StreamOptions, StreamRunner, StreamStats
from streamedit_sdk.io.streams import AVSink, AVSource, RawSink, RawSource, VirtualCamSink

__all__ = ["AVSink", "AVSource", "EditRequest", "HttpControl", "POLICIES", "RawSink",
           "RawSource", "StreamOptions", "StreamRunner", "StreamStats", "VirtualCamSink",
           "WatchedFile", "open_control"]
