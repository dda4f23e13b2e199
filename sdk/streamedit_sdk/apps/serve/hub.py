"""The running streams of one ``serve`` process: each one's session, peer connection, views,
and the watch that frees the place of a browser that never connected or has gone."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streamedit_sdk.apps.serve.config import ServeConfig
from streamedit_sdk.apps.serve.guard import refuse
from streamedit_sdk.apps.serve.session import StreamSession, ViewTrack
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits.spec import EditSpec

log = logging.getLogger(__name__)

ENDED_KEPT = 32  # ended streams whose final stats are kept (GET /stats, the stream's own)
WATCH_S = 0.5  # how often the watch looks at each stream
SDP_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)


class Hub:
    """The running streams of this process (event-loop thread only)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.sessions: dict[str, StreamSession] = {}
        self._peers: dict[str, RTCPeerConnection] = {}
        self._views: dict[str, list[RTCPeerConnection]] = {}  # per stream, oldest first
        self._outputs: dict[str, list[str]] = {}  # output key -> the streams that show it,
        # newest last (two tabs of one browser share a key: the newest shows)
        self._tasks: set[asyncio.Task] = set()
        self._numbers = 0
        self.refused_busy = 0  # connections answered "busy"
        self.ended: OrderedDict[str, dict] = OrderedDict()  # id -> the last streams' final stats
        self.pool = None  # the Ray actor pool (ServeConfig.ray), started with the app
        self._opening = 0  # offers being answered (they count against max_streams)

    @property
    def busy(self) -> bool:
        """Whether a new stream would be refused now."""
        return len(self.sessions) + self._opening >= self.config.max_streams

    def make_editor(self):
        """A new stream's editor: on a Ray actor with a pool, else in this process."""
        if self.pool is not None:
            from streamedit_sdk.apps.serve.cluster import RemoteEditor
            return RemoteEditor(self.pool)
        return StreamEditor(self.config.editor)

    def get(self, sid: str) -> StreamSession:
        session = self.sessions.get(sid)
        if session is None:
            raise refuse(404, "no such stream here (it ended, or never started)")
        return session

    def ended_stats(self, sid: str) -> dict | None:
        return self.ended.get(sid)

    async def open(self, sdp: str, spec: EditSpec, probe_rows: int,
                   output_key: str | None = None) -> tuple[str, str]:
        """A new stream for the offer ``sdp``: (session id, answer SDP). ``output_key``: the
        name its views find it by (the page keeps it across reconnects); default its id."""
        if self.busy:
            self.refused_busy += 1
            raise refuse(503, f"busy: this server edits at most {self.config.max_streams} "
                              "streams at once; try again when one ends")
        self._opening += 1  # its place is held while the offer is answered
        try:
            return await self._open(sdp, spec, probe_rows, output_key)
        finally:
            self._opening -= 1

    async def _open(self, sdp: str, spec: EditSpec, probe_rows: int,
                    output_key: str | None) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        sid = secrets.token_urlsafe(16)
        self._numbers += 1
        session = StreamSession(sid, self.make_editor, spec, probe_rows, loop, self._numbers)
        pc = self._peer()
        got_video = []

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and not got_video:
                got_video.append(track)
                pc.addTrack(session.track)
                self._spawn(self._pump(track, session))
            elif track.kind == "audio":
                pc.addTrack(track)  # the audio goes back untouched

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "connected" and session.connected is None:
                session.connected = time.monotonic()
            elif pc.connectionState in ("failed", "closed"):
                await self.close(sid, f"connection {pc.connectionState}")

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if not got_video:
                raise ValueError("the offer sends no video track")
            await pc.setLocalDescription(await pc.createAnswer())
        except SDP_ERRORS as exc:
            await pc.close()
            session.close()
            raise refuse(400, f"bad offer: {exc}") from exc
        self.sessions[sid] = session
        self._peers[sid] = pc
        self._views[sid] = []
        self._outputs.setdefault(output_key or sid, []).append(sid)
        session.start()
        self._spawn(self._watch(sid, session))
        log.info("stream %d started (%d running): %s", session.number, len(self.sessions),
                 spec.label)
        return sid, pc.localDescription.sdp

    async def view(self, output_key: str, sdp: str) -> str:
        """A view of the stream that shows ``output_key`` now (an OBS browser source): the
        answer to its receive-only offer ``sdp``; 404 while no stream shows it, 503 beyond
        ``max_views``."""
        shown = self._outputs.get(output_key) or []
        sid = shown[-1] if shown else None
        session = self.sessions.get(sid) if sid is not None else None
        if session is None:
            raise refuse(404, "no stream shows this output now: start the camera page (it "
                              "reconnects here by itself)")
        views = self._views[sid]
        while len(views) >= self.config.max_views:  # the oldest view makes room: an OBS
            await views.pop(0).close()  # source that reconnects is never locked out
        pc = self._peer()
        track = ViewTrack()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            pc.addTrack(track)
            await pc.setLocalDescription(await pc.createAnswer())
        except SDP_ERRORS as exc:
            await pc.close()
            raise refuse(400, f"bad offer: {exc}") from exc
        views.append(pc)
        session.views.add(track)

        async def drop() -> None:
            session.views.discard(track)
            if pc in views:
                views.remove(pc)
            await pc.close()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await drop()

        async def unless_connected() -> None:  # a view that never connects frees its place
            await asyncio.sleep(self.config.connect_timeout_s)
            if pc.connectionState != "connected":
                await drop()

        self._spawn(unless_connected())
        return pc.localDescription.sdp

    async def close(self, sid: str, why: str = "ended") -> None:
        """End a stream and release everything it held (idempotent); ``why`` is kept in its
        stats (``ended_by``) and said in the log."""
        session = self.sessions.pop(sid, None)
        pc = self._peers.pop(sid, None)
        views = self._views.pop(sid, [])
        for key, shown in list(self._outputs.items()):
            if sid in shown:
                shown.remove(sid)  # (an older stream with the key shows it again)
                if not shown:
                    del self._outputs[key]
        if session is not None and session.ended_by is None:
            session.ended_by = why
        for view in list(views):
            await view.close()
        if pc is not None:
            await pc.close()
        if session is not None:
            await asyncio.get_running_loop().run_in_executor(None, session.close)
            stats = session.stats()
            self.ended[sid] = stats
            while len(self.ended) > ENDED_KEPT:
                self.ended.popitem(last=False)
            lat = (stats.get("latency_ms") or {}).get("p50")
            log.info("stream %d ended (%s) after %.0f s: %d frames out at %.1f fps (%d edited, "
                     "%d before a face), %d dropped, latency p50 %s ms", session.number, why,
                     stats["seconds"], stats["frames_edited"] + stats["passed_through"],
                     stats["fps"], stats["frames_edited"], stats["passed_through"],
                     stats["dropped"], "-" if lat is None else f"{lat:.0f}")

    async def close_all(self) -> None:
        await asyncio.gather(*(self.close(sid, "the server stopped") for sid in
                               list(self.sessions)))
        for task in list(self._tasks):
            task.cancel()

    def stats(self, with_ids: bool) -> dict:
        """Every running stream's counters and the last ended ones'. ``with_ids``: list each
        stream's id too (only to requests that carried the server's token: an id lets its
        holder change and read the stream)."""
        def listed(sid: str, s: dict) -> dict:
            return {"id": sid, **s} if with_ids else s
        return {"streams": [listed(sid, s.stats()) for sid, s in self.sessions.items()],
                "ended": [listed(sid, s) for sid, s in self.ended.items()],
                "max_streams": self.config.max_streams, "busy": self.busy,
                "refused_busy": self.refused_busy,
                "ray_actors_started": None if self.pool is None else self.pool.started}

    def _peer(self) -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(
            iceServers=[RTCIceServer(url) for url in self.config.ice_servers]))

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pump(self, track: MediaStreamTrack, session: StreamSession) -> None:
        """The browser's frames into the session, as fast as they arrive."""
        try:
            while True:
                session.feed.push(await track.recv())
        except MediaStreamError:
            session.feed.end()

    async def _watch(self, sid: str, session: StreamSession) -> None:
        """Free the place of a stream whose browser never connects (UDP blocked: ICE and
        DTLS never complete) or has gone (killed, its network lost: no frame for
        ``peer_timeout_s``). A page that is only hidden keeps sending, so it stays."""
        cfg = self.config
        while self.sessions.get(sid) is session:
            await asyncio.sleep(WATCH_S)
            now = time.monotonic()
            heard = session.feed.last_arrival or session.connected  # last sign of the browser
            if heard is None:
                if now - session.opened > cfg.connect_timeout_s:
                    await self.close(sid, f"never connected within {cfg.connect_timeout_s:g} s")
            elif now - heard > cfg.peer_timeout_s:
                await self.close(sid, f"the browser went away (no frame for "
                                      f"{cfg.peer_timeout_s:g} s)")
