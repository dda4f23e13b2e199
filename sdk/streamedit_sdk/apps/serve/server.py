"""The web front door: the page, WebRTC signalling, and each stream's controls.

Routes (every one behind the token when the server has one, see :mod:`.guard`):

``GET /``, ``GET /app.js``, ``GET /config``
    the page (camera up, edited video back beside it, edit controls, live numbers) and the
    edits it may offer.
``POST /offer``
    ``{"sdp", "type": "offer", "edit"?: {...}, "probe_rows"?: n}``: a new stream; answers
    ``{"sdp", "type": "answer", "session": id}``, or 503 when ``max_streams`` are running.
``POST /session/{id}/edit``
    ``{"style": name}``, ``{"sticker": "star", "sticker_at": place}`` or ``{"prompt": text}``
    (with diffusion weights configured): the edit changes without reconnecting.
``GET /session/{id}/frame.png``
    the newest frame, unedited (to edit in any image editor); ``POST /session/{id}/image``
    (the edited PNG / JPEG / WebP as the body) makes that edit the stream's.
``POST /session/{id}/report``
    the page's own measurements (latency in the browser, ...), shown in the stats.
``GET /stats``, ``GET /session/{id}/stats``
    counters per stream (and the last ended streams' final ones). ``DELETE /session/{id}``
    ends a stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import secrets
from collections import deque
from importlib import resources
from urllib.parse import urlencode

import cv2
from aiohttp import web
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streamedit_sdk.apps.serve.config import ServeConfig
from streamedit_sdk.apps.serve.guard import decode_image, read_json, refuse, token_middleware
from streamedit_sdk.apps.serve.session import MAX_PROBE_ROWS, StreamSession
from streamedit_sdk.core import heap
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits import STYLES
from streamedit_sdk.edits.sticker import STICKER_PLACES
from streamedit_sdk.edits.spec import EditSpec

log = logging.getLogger(__name__)

ENDED_KEPT = 32  # ended streams whose final stats GET /stats still shows
MAX_REPORT_KEYS = 32  # a page's report is a small flat object
_PAGE_FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript")}
_PAGE_POLICY = ("default-src 'self'; style-src 'self' 'unsafe-inline'; "  # the page's own
                "img-src 'self' blob: data:; media-src 'self' blob:")  # files, nothing inline
_SDP_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)


class Hub:
    """The running streams of this process: each one's session and peer connection."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.sessions: dict[str, StreamSession] = {}
        self._peers: dict[str, RTCPeerConnection] = {}
        self._tasks: set[asyncio.Task] = set()
        self.refused_busy = 0  # connections answered "busy"
        self.ended: deque[dict] = deque(maxlen=ENDED_KEPT)  # the last streams' final stats
        self.pool = None  # the Ray actor pool (ServeConfig.ray), started with the app
        self._opening = 0  # offers being answered (they count against max_streams)

    def make_editor(self):
        """A new stream's editor: on a Ray actor with a pool, else in this process."""
        if self.pool is not None:
            from streamedit_sdk.apps.serve.cluster import RemoteEditor
            return RemoteEditor(self.pool)
        return StreamEditor(self.config.editor)

    def get(self, sid: str) -> StreamSession:
        session = self.sessions.get(sid)
        if session is None:
            raise refuse(404, f"no stream {sid!r} here (it ended, or never started)")
        return session

    async def open(self, sdp: str, spec: EditSpec, probe_rows: int) -> tuple[str, str]:
        """A new stream for the offer ``sdp``: (session id, answer SDP)."""
        if len(self.sessions) + self._opening >= self.config.max_streams:
            self.refused_busy += 1
            raise refuse(503, f"busy: this server edits at most {self.config.max_streams} "
                              "streams at once; try again when one ends")
        self._opening += 1  # its place is held while the offer is answered
        try:
            return await self._open(sdp, spec, probe_rows)
        finally:
            self._opening -= 1

    async def _open(self, sdp: str, spec: EditSpec, probe_rows: int) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        sid = secrets.token_urlsafe(9)
        session = StreamSession(sid, self.make_editor, spec, probe_rows, loop)
        pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[RTCIceServer(url) for url in self.config.ice_servers]))
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
            if pc.connectionState in ("failed", "closed"):
                await self.close(sid)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if not got_video:
                raise ValueError("the offer sends no video track")
            await pc.setLocalDescription(await pc.createAnswer())
        except _SDP_ERRORS as exc:
            await pc.close()
            session.close()
            raise refuse(400, f"bad offer: {exc}") from exc
        self.sessions[sid] = session
        self._peers[sid] = pc
        session.start()
        log.info("stream %s: connected (%d running)", sid, len(self.sessions))
        return sid, pc.localDescription.sdp

    async def close(self, sid: str) -> None:
        """End a stream and release everything it held (idempotent)."""
        session = self.sessions.pop(sid, None)
        pc = self._peers.pop(sid, None)
        if pc is not None:
            await pc.close()
        if session is not None:
            await asyncio.get_running_loop().run_in_executor(None, session.close)
            self.ended.append(session.stats())
            log.info("stream %s: ended %s", sid, self.ended[-1])

    async def close_all(self) -> None:
        await asyncio.gather(*(self.close(sid) for sid in list(self.sessions)))
        for task in list(self._tasks):
            task.cancel()

    def stats(self) -> dict:
        return {"streams": [s.stats() for s in self.sessions.values()],
                "ended": list(self.ended), "max_streams": self.config.max_streams,
                "refused_busy": self.refused_busy,
                "ray_actors_started": None if self.pool is None else self.pool.started}

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


HUB = web.AppKey("hub", Hub)  # the application's streams


def parse_edit(data: object, config: ServeConfig) -> EditSpec:
    """A page's edit choice as an :class:`EditSpec`; 400 for anything else. Only the built-in
    styles and sticker are named here: a request never names a file on the server."""
    if not isinstance(data, dict) or len(data) == 0:
        raise refuse(400, 'an edit is a JSON object: {"style": NAME}, {"sticker": "star"} or '
                          '{"prompt": TEXT}')
    known = {"style", "sticker", "sticker_at", "prompt"}
    unknown = set(data) - known
    if unknown:
        raise refuse(400, f"unknown keys {sorted(unknown)}: use {sorted(known)}")
    if any(not isinstance(v, str) or not v for v in data.values()):
        raise refuse(400, "each value is a non-empty string")
    if "style" in data and data["style"] not in STYLES:
        raise refuse(400, f"unknown style {data['style']!r}: choose one of {', '.join(STYLES)}")
    if "sticker" in data and data["sticker"] != "star":
        raise refuse(400, "the page's sticker is 'star' (upload an edited frame for others)")
    if data.get("sticker_at", "cheek") not in STICKER_PLACES:
        raise refuse(400, f"sticker_at: one of {', '.join(STICKER_PLACES)}")
    prompt = None
    if "prompt" in data:
        if config.prompt is None:
            raise refuse(400, "this server has no diffusion weights: start it with "
                              "--diffusion-dir DIR for prompt edits")
        if len(data["prompt"]) > 500:
            raise refuse(400, "the prompt is over 500 characters")
        prompt = dataclasses.replace(config.prompt, prompt=data["prompt"])
    try:
        return EditSpec(style=data.get("style"), sticker=data.get("sticker"),
                        sticker_at=data.get("sticker_at", "cheek"), prompt=prompt)
    except ValueError as exc:
        raise refuse(400, str(exc)) from exc


def make_app(config: ServeConfig) -> web.Application:
    """The aiohttp application (run it with :func:`serve`, or aiohttp's test client)."""
    hub = Hub(config)
    app = web.Application(middlewares=[token_middleware(config.token)],
                          client_max_size=config.max_upload_bytes)
    app[HUB] = hub
    routes = web.RouteTableDef()

    @routes.get("/")
    @routes.get("/app.js")
    async def page(request: web.Request) -> web.Response:
        name, kind = _PAGE_FILES[request.path]
        text = resources.files("streamedit_sdk.apps.serve").joinpath("page", name).read_text()
        if name == "index.html":  # the script is fetched with the page's token too
            query = f"?{urlencode({'token': request.query['token']})}" \
                if "token" in request.query else ""
            text = text.replace("{{query}}", html.escape(query))
        return web.Response(text=text, content_type=kind,
                            headers={"Cache-Control": "no-store",
                                     "Content-Security-Policy": _PAGE_POLICY})

    @routes.post("/offer")
    async def offer(request: web.Request) -> web.Response:
        data = await read_json(request, config.max_request_bytes)
        sdp = data.get("sdp")
        if data.get("type") != "offer" or not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise refuse(400, 'an offer is {"type": "offer", "sdp": "v=0..."}')
        probe = data.get("probe_rows", 0)
        if not isinstance(probe, int) or isinstance(probe, bool) or \
                not 0 <= probe <= MAX_PROBE_ROWS:
            raise refuse(400, f"probe_rows: a whole number 0..{MAX_PROBE_ROWS}")
        spec = parse_edit(data.get("edit", {"style": config.style}), config)
        sid, answer = await hub.open(sdp, spec, probe)
        return web.json_response({"sdp": answer, "type": "answer", "session": sid})

    @routes.post("/session/{sid}/edit")
    async def edit(request: web.Request) -> web.Response:
        session = hub.get(request.match_info["sid"])
        session.edit(parse_edit(await read_json(request, config.max_request_bytes), config))
        return web.json_response({"accepted": True}, status=202)

    @routes.get("/session/{sid}/frame.png")
    async def frame(request: web.Request) -> web.Response:
        session = hub.get(request.match_info["sid"])
        rgb = session.grab()
        if rgb is None:
            raise refuse(409, "no frame has arrived yet")
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return web.Response(body=png.tobytes(), content_type="image/png",
                            headers={"Content-Disposition": 'attachment; filename="frame.png"'})

    @routes.post("/session/{sid}/image")
    async def image(request: web.Request) -> web.Response:
        session = hub.get(request.match_info["sid"])
        edited = decode_image(await request.read(), config.max_upload_bytes)
        try:
            session.edit_image(edited)
        except ValueError as exc:
            raise refuse(400, str(exc)) from exc
        return web.json_response({"accepted": True}, status=202)

    @routes.post("/session/{sid}/report")
    async def report(request: web.Request) -> web.Response:
        session = hub.get(request.match_info["sid"])
        data = await read_json(request, config.max_request_bytes)
        if len(data) > MAX_REPORT_KEYS or any(
                not isinstance(v, (int, float, str, type(None))) for v in data.values()):
            raise refuse(400, f"a report is a flat object of at most {MAX_REPORT_KEYS} numbers")
        session.report = data
        return web.json_response({"accepted": True})

    @routes.get("/config")
    async def page_config(request: web.Request) -> web.Response:
        return web.json_response({"styles": list(STYLES), "sticker_places": list(STICKER_PLACES),
                                  "prompt": config.prompt is not None,
                                  "max_streams": config.max_streams})

    @routes.get("/stats")
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(hub.stats())

    @routes.get("/session/{sid}/stats")
    async def session_stats(request: web.Request) -> web.Response:
        return web.json_response(hub.get(request.match_info["sid"]).stats())

    @routes.delete("/session/{sid}")
    async def end(request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        hub.get(sid)
        await hub.close(sid)
        return web.json_response({"ended": sid})

    app.add_routes(routes)

    async def on_startup(_app: web.Application) -> None:
        if config.ray is not None:  # ray loads only here: the single-process server needs none
            from streamedit_sdk.apps.serve.cluster import ActorPool
            hub.pool = await asyncio.get_running_loop().run_in_executor(
                None, ActorPool, config.ray, config.editor)

    async def on_shutdown(_app: web.Application) -> None:
        await hub.close_all()
        if hub.pool is not None:
            hub.pool.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


MALLOC_ARENAS = 2  # glibc heaps shared by the server's threads (see serve)


def serve(config: ServeConfig) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM end every stream cleanly).

    Every stream starts threads (its editor's, the codecs'), and glibc gives each new thread
    a heap of its own up to 8 per core, which keeps the memory it once held: the process then
    grows over the first dozens of connections. Capping the heaps at :data:`MALLOC_ARENAS`
    (unless ``MALLOC_ARENA_MAX`` is set) keeps it flat after a few (docs/serving.md).
    """
    heap.cap_arenas(MALLOC_ARENAS)
    web.run_app(make_app(config), host=config.host, port=config.port, print=None,
                handle_signals=True)


