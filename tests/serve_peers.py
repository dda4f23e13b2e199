"""Test helpers for ``streamedit serve``: the server on a thread, and aiortc client peers that
stream a clip's frames and keep what comes back."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import av
import numpy as np
from aiohttp import ClientSession, web
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

from streamedit_sdk.apps.serve import ServeConfig
from streamedit_sdk.apps.serve.server import make_app


class ServerThread:
    """``make_app(config)`` on 127.0.0.1 at ``port`` (0: a free one), served from a thread's
    event loop."""

    def __init__(self, config: ServeConfig, port: int = 0) -> None:
        self.config = config
        self.port = port
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self._thread = threading.Thread(target=self._serve, name="test-serve", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self.app = make_app(self.config)
        self._runner = web.AppRunner(self.app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        assert self._ready.wait(30), "the server did not start"
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> int:
        """POST ``body`` to ``path``; the HTTP status."""
        headers = {"Content-Type": content_type}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status
        except urllib.error.HTTPError as err:
            return err.code

    def get(self, path: str) -> dict:
        headers = {"Authorization": f"Bearer {self.config.token}"} if self.config.token else {}
        request = urllib.request.Request(self.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())


class ClipTrack(VideoStreamTrack):
    """A camera that shows ``frames`` over and over (RGB uint8), at aiortc's 30 fps clock."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__()
        self.frames, self.sent = frames, 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self.frames[self.sent % len(self.frames)],
                                           format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        self.sent += 1
        return frame


@dataclass
class PeerRun:
    """What one client peer saw."""

    status: int = 0  # the offer's HTTP status
    session: str | None = None
    error: str | None = None
    sent: int = 0
    received: list[np.ndarray] = field(default_factory=list)  # edited frames, RGB
    times: list[float] = field(default_factory=list)  # when each came (event-loop seconds)
    stats: dict = field(default_factory=dict)  # the server's stats of the stream at its end


async def stream_clip(url: str, frames: list[np.ndarray], seconds: float,
                      edit: dict | None = None, token: str | None = None,
                      changes: tuple[tuple[float, dict], ...] = (), keep: int = 400,
                      output_key: str | None = None) -> PeerRun:
    """Stream ``frames`` to the server for ``seconds``; at each (time, edit) of ``changes``
    ask for that edit; end the stream (DELETE) and return what came back."""
    run = PeerRun()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    pc = RTCPeerConnection()
    camera = ClipTrack(frames)
    pc.addTrack(camera)
    readers = []

    @pc.on("track")
    def on_track(track) -> None:
        async def read() -> None:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                run.times.append(asyncio.get_running_loop().time())
                if len(run.received) < keep:
                    run.received.append(frame.to_ndarray(format="rgb24"))
        readers.append(asyncio.ensure_future(read()))

    await pc.setLocalDescription(await pc.createOffer())
    body = {"type": "offer", "sdp": pc.localDescription.sdp}
    if edit is not None:
        body["edit"] = edit
    if output_key is not None:
        body["output_key"] = output_key
    async with ClientSession(headers=headers) as http:
        reply = await http.post(url + "/offer", json=body)
        run.status = reply.status
        answer = await reply.json()
        if reply.status != 200:
            run.error = answer.get("error")
            await pc.close()
            return run
        run.session = answer["session"]
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        start = asyncio.get_running_loop().time()
        for at, change in changes:
            await asyncio.sleep(max(0.0, start + at - asyncio.get_running_loop().time()))
            reply = await http.post(f"{url}/session/{run.session}/edit", json=change)
            assert reply.status == 202, await reply.text()
        await asyncio.sleep(max(0.0, start + seconds - asyncio.get_running_loop().time()))
        await http.delete(f"{url}/session/{run.session}")
        run.stats = await (await http.get(f"{url}/session/{run.session}/stats")).json()
    run.sent = camera.sent
    await pc.close()
    for task in readers:
        task.cancel()
    return run
