"""What the server lets in: the door's rule on every request, bounded JSON, images only.

Every refusal is an HTTP error with a JSON ``{"error": reason}`` body, raised before anything
changes, aiohttp's own included (an unknown route, a body over the size limit): 400
(malformed), 401 (no or wrong token), 403 (another site, or a Host the server does not
answer to), 404, 409 (no frame to edit yet), 413 (too large), 415 (wrong content type),
503 (busy); an unexpected failure is a logged 500 with a JSON body too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Awaitable, Callable

import cv2
import numpy as np
from aiohttp import web

from streamedit_sdk.apps.access import JSON, Asked, Door

log = logging.getLogger(__name__)

MAX_IMAGE_SIDE = 8192  # px: larger images are refused before any editing
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF")  # PNG, JPEG, WebP (RIFF..WEBP)
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_ERRORS = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
           404: web.HTTPNotFound, 405: web.HTTPMethodNotAllowed, 409: web.HTTPConflict,
           413: web.HTTPRequestEntityTooLarge, 415: web.HTTPUnsupportedMediaType,
           500: web.HTTPInternalServerError, 503: web.HTTPServiceUnavailable}


def refuse(status: int, reason: str) -> web.HTTPException:
    """An aiohttp error response with ``{"error": reason}`` (raise it)."""
    body = json.dumps({"error": reason})
    if status == 413:
        return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, text=body,
                                             content_type="application/json")
    if status == 405:
        return web.HTTPMethodNotAllowed("", [], text=body, content_type="application/json")
    cls = _ERRORS.get(status)
    if cls is None:
        response = web.HTTPException(text=body, content_type="application/json")
        response.set_status(status)
        return response
    return cls(text=body, content_type="application/json")


def door_middleware(door: Door) -> Callable:
    """Apply ``door``'s rule (token, Host, Origin) to every request, and turn every error into
    the documented JSON. (Each route checks the content type of the body it takes.)"""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            asked = Asked(request.method, request.headers.get("Host"),
                          request.headers.get("Origin"), request.headers.get("Authorization"),
                          request.query.get("token"),
                          request.content_type if request.body_exists else None)
            no = door.refusal(asked)
            if no is not None:
                raise refuse(*no)
            return await handler(request)
        except web.HTTPException as exc:
            if exc.content_type == "application/json" or exc.status < 400:
                raise
            raise refuse(exc.status, _plain_reason(exc)) from exc
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:  # noqa: BLE001 - the answer must stay JSON; the log says more
            log.exception("%s %s failed", request.method, request.path)
            raise refuse(500, f"the server failed on this request ({type(exc).__name__}); "
                              "see its log") from exc

    return check


def _plain_reason(exc: web.HTTPException) -> str:
    """A sentence for aiohttp's own errors (their text is a bare status line)."""
    if exc.status == 413:
        return "the request body is larger than this server takes"
    if exc.status == 404:
        return "no such page or route here"
    if exc.status == 405:
        return "this route does not take that method"
    return exc.text or exc.reason


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, however it arrives (pieces over a real network, chunked), up to
    ``limit`` bytes: 413 beyond."""
    if request.content_length is not None and request.content_length > limit:
        raise refuse(413, f"the request body is {request.content_length} bytes; at most {limit}")
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(min(64 << 10, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise refuse(413, f"the request body is over {limit} bytes")
    return b"".join(chunks)


async def read_json(request: web.Request, limit: int) -> dict:
    """The request's JSON object (the whole body, up to ``limit`` bytes), or a 400 / 413 / 415
    refusal saying what is wrong."""
    if request.content_type not in JSON:
        raise refuse(415, f"send the body as application/json (got {request.content_type})")
    raw = await read_body(request, limit)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise refuse(400, f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise refuse(400, "the body must be a JSON object")
    return data


def check_image(data: bytes, limit: int, want: tuple[int, int] | None = None) -> None:
    """Refuse (400 / 413), before any decoding, what is not a PNG, JPEG or WebP image of at
    most ``limit`` bytes whose header declares ``want`` (width, height) px, or at most
    :data:`MAX_IMAGE_SIDE` a side."""
    if len(data) > limit:
        raise refuse(413, f"the image is {len(data)} bytes; at most {limit}")
    if not data.startswith(_IMAGE_MAGIC) or (data.startswith(b"RIFF") and data[8:12] != b"WEBP"):
        raise refuse(400, "upload a PNG, JPEG or WebP image")
    size = declared_size(data)
    if size is None or min(size) == 0:
        raise refuse(400, "the image's header gives no size: upload a PNG, JPEG or WebP image")
    if max(size) > MAX_IMAGE_SIDE:
        raise refuse(400, f"the image is {size[0]}x{size[1]}; at most {MAX_IMAGE_SIDE} px a side")
    if want is not None and size != want:
        raise refuse(400, f"the edited image is {size[0]}x{size[1]} but the grabbed frame is "
                          f"{want[0]}x{want[1]}: edit the grabbed frame without resizing it")


def decode_image(data: bytes) -> np.ndarray:
    """An image :func:`check_image` let through, as (H, W, 3) uint8 RGB; 400 when it does
    not decode. Blocking: run it off the event loop."""
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise refuse(400, "the image could not be decoded: upload a PNG, JPEG or WebP "
                          "image") from exc
    if image is None:
        raise refuse(400, "the image could not be decoded: upload a PNG, JPEG or WebP image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) an image's header declares, read without decoding (a small file may
    declare a huge image): PNG's IHDR, JPEG's frame header, WebP's VP8 / VP8L / VP8X
    header. None when the header says nothing readable."""
    if data.startswith(_IMAGE_MAGIC[0]):
        return (_be(data, 16, 4), _be(data, 20, 4)) if len(data) >= 24 else None
    if data.startswith(_IMAGE_MAGIC[1]):
        return _jpeg_size(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _be(data: bytes, at: int, n: int) -> int:
    return int.from_bytes(data[at:at + n], "big")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = _be(data, i + 2, 2)
        if marker in _JPEG_FRAMES and i + 9 <= len(data):
            return _be(data, i + 7, 2), _be(data, i + 5, 2)
        if length < 2:
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF)
    if kind == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(data) >= 30:
        return (int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1)
    return None
