"""The web front door: the pages, WebRTC signalling, and each stream's controls.

Routes (every one behind the door of :mod:`.guard`: the token when the server has one, the
Host and Origin rules, JSON errors):

``GET /``, ``GET /app.js``, ``GET /config``
    the page (camera up, edited video back beside it, edit controls, live numbers), the edits
    it may offer and whether the server is busy.
``GET /view``, ``GET /view.js``
    the output page: the edited picture alone, full window, for an OBS browser source
    (``/view?key=KEY``; the camera page shows its link).
``POST /offer``
    ``{"sdp", "type": "offer", "edit"?: {...}, "probe_rows"?: n, "output_key"?: KEY}``: a new
    stream; answers ``{"sdp", "type": "answer", "session": id}``, or 503 when ``max_streams``
    are running.
``POST /output/{key}/offer``
    a receive-only offer of the output page: the answer plays the stream that shows ``key``.
``POST /session/{id}/edit``
    ``{"style": name}``, ``{"sticker": "star", "sticker_at": place}`` or ``{"prompt": text}``
    (with diffusion weights configured): the edit changes without reconnecting.
``GET /session/{id}/frame.png``
    the newest frame, unedited (to edit in any image editor); ``POST /session/{id}/image``
    (the edited PNG / JPEG / WebP as the body, its type as Content-Type) makes that edit the
    stream's.
``POST /session/{id}/report``
    the page's own measurements (latency in the browser, ...), shown in the stats.
``GET /stats``, ``GET /session/{id}/stats``
    counters per stream (and the last ended streams' final ones; ids only to requests with
    the server's token). ``DELETE /session/{id}`` or ``POST /session/{id}/end`` (the page's
    goodbye when it closes) ends a stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
from importlib import resources
from urllib.parse import urlencode

import cv2
from aiohttp import web

from streamedit_sdk.apps.access import Door
from streamedit_sdk.apps.serve.config import ServeConfig
from streamedit_sdk.apps.serve.guard import (IMAGE_TYPES, check_image, decode_image,
                                             door_middleware, read_body, read_json, refuse)
from streamedit_sdk.apps.serve.hub import Hub
from streamedit_sdk.apps.serve.session import MAX_PROBE_ROWS
from streamedit_sdk.core import heap
from streamedit_sdk.edits import STYLES
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.edits.sticker import STICKER_PLACES

MAX_REPORT_KEYS = 32  # a page's report is a small flat object
_PAGE_FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
               "/view": ("view.html", "text/html"), "/view.js": ("view.js", "text/javascript")}
_PAGE_POLICY = ("default-src 'self'; style-src 'self' 'unsafe-inline'; "  # the page's own
                "img-src 'self' blob: data:; media-src 'self' blob:; "  # files, nothing
                "frame-ancestors 'none'")  # inline; no other site may frame it (clickjacking)
_OUTPUT_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # a page's output name: a secret

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


def _png(rgb) -> bytes:
    """A frame as PNG bytes (blocking: 80-220 ms at 1080p, so off the event loop)."""
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise refuse(500, "the frame could not be encoded as PNG")
    return png.tobytes()


def _offer_sdp(data: dict) -> str:
    sdp = data.get("sdp")
    if data.get("type") != "offer" or not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise refuse(400, 'an offer is {"type": "offer", "sdp": "v=0..."}')
    return sdp


def make_app(config: ServeConfig) -> web.Application:
    """The aiohttp application (run it with :func:`serve`, or aiohttp's test client)."""
    hub = Hub(config)
    door = Door(config.token, config.allowed_hosts,
                allow_hint=", or start it with --allowed-host NAME (a reverse proxy's name)")
    app = web.Application(middlewares=[door_middleware(door)],
                          client_max_size=config.max_upload_bytes)
    app[HUB] = hub
    decoding = asyncio.Semaphore(config.max_decodes)  # uploads decoded at once, off the loop
    routes = web.RouteTableDef()

    @routes.get("/")
    @routes.get("/app.js")
    @routes.get("/view")
    @routes.get("/view.js")
    async def page(request: web.Request) -> web.Response:
        name, kind = _PAGE_FILES[request.path]
        text = resources.files("streamedit_sdk.apps.serve").joinpath("page", name).read_text()
        if name.endswith(".html"):  # the script is fetched with the page's token too
            query = f"?{urlencode({'token': request.query['token']})}" \
                if "token" in request.query else ""
            text = text.replace("{{query}}", html.escape(query))
        return web.Response(text=text, content_type=kind,
                            headers={"Cache-Control": "no-store",
                                     "Content-Security-Policy": _PAGE_POLICY,
                                     "X-Frame-Options": "DENY",
                                     "X-Content-Type-Options": "nosniff"})

    @routes.post("/offer")
    async def offer(request: web.Request) -> web.Response:
        data = await read_json(request, config.max_request_bytes)
        sdp = _offer_sdp(data)
        probe = data.get("probe_rows", 0)
        if not isinstance(probe, int) or isinstance(probe, bool) or \
                not 0 <= probe <= MAX_PROBE_ROWS:
            raise refuse(400, f"probe_rows: a whole number 0..{MAX_PROBE_ROWS}")
        key = data.get("output_key")
        if key is not None and (not isinstance(key, str) or not _OUTPUT_KEY.fullmatch(key)):
            raise refuse(400, "output_key: 16-64 letters, digits, '-' or '_'")
        spec = parse_edit(data.get("edit", {"style": config.style}), config)
        sid, answer = await hub.open(sdp, spec, probe, key)
        return web.json_response({"sdp": answer, "type": "answer", "session": sid})

    @routes.post("/output/{key}/offer")
    async def view_offer(request: web.Request) -> web.Response:
        sdp = _offer_sdp(await read_json(request, config.max_request_bytes))
        answer = await hub.view(request.match_info["key"], sdp)
        return web.json_response({"sdp": answer, "type": "answer"})

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
        png = await asyncio.get_running_loop().run_in_executor(None, _png, rgb)
        return web.Response(body=png, content_type="image/png",
                            headers={"Content-Disposition": 'attachment; filename="frame.png"'})

    @routes.post("/session/{sid}/image")
    async def image(request: web.Request) -> web.Response:
        """Cheap checks first (the stream, a grabbed frame, the type, the size the header
        declares), then the decoding, off the event loop and a few at a time."""
        session = hub.get(request.match_info["sid"])
        grabbed = session.grabbed
        if grabbed is None:
            raise refuse(409, "grab a frame first (GET /session/ID/frame.png), edit it, and "
                              "upload the edited image")
        if request.content_type not in IMAGE_TYPES:
            raise refuse(415, f"send the image as {', '.join(IMAGE_TYPES)} (got "
                              f"{request.content_type})")
        data = await read_body(request, config.max_upload_bytes)
        check_image(data, config.max_upload_bytes, (grabbed.shape[1], grabbed.shape[0]))
        async with decoding:  # (and the two PNGs the edit is kept as: off the loop too)
            loop = asyncio.get_running_loop()
            edited = await loop.run_in_executor(None, decode_image, data)
            try:
                await loop.run_in_executor(None, session.edit_image, edited)
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
                                  "max_streams": config.max_streams, "busy": hub.busy,
                                  "running": len(hub.sessions)})

    @routes.get("/stats")
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(hub.stats(with_ids=config.token is not None))

    @routes.get("/session/{sid}/stats")
    async def session_stats(request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        ended = hub.ended_stats(sid)
        return web.json_response(ended if ended is not None else hub.get(sid).stats())

    async def end_stream(request: web.Request, why: str) -> web.Response:
        sid = request.match_info["sid"]
        hub.get(sid)
        await hub.close(sid, why)
        return web.json_response({"ended": True})

    @routes.delete("/session/{sid}")
    async def end(request: web.Request) -> web.Response:
        return await end_stream(request, "stopped by the page")

    @routes.post("/session/{sid}/end")
    async def goodbye(request: web.Request) -> web.Response:
        await read_json(request, config.max_request_bytes)  # (JSON only: no cross-site form)
        return await end_stream(request, "the page closed")

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
