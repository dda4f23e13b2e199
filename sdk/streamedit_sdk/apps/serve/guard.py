"""What the server lets in: the token on every request, bounded JSON, images only.

Every refusal is an HTTP error with a JSON ``{"error": reason}`` body, raised before anything
changes: 401 (no or wrong token), 400 (malformed request), 413 (too large; aiohttp's body
limit), 404 (no such stream), 503 (busy).
"""

from __future__ import annotations

import json
from typing import Awaitable, Callable

import cv2
import numpy as np
from aiohttp import web

from streamedit_sdk.apps.access import given_token, token_matches

MAX_IMAGE_SIDE = 8192  # px: larger images are refused before any editing
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF")  # PNG, JPEG, WebP (RIFF..WEBP)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refuse(status: int, reason: str) -> web.HTTPException:
    """An aiohttp error response with ``{"error": reason}`` (raise it)."""
    classes = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 404: web.HTTPNotFound,
               409: web.HTTPConflict, 413: web.HTTPRequestEntityTooLarge,
               503: web.HTTPServiceUnavailable}
    body = json.dumps({"error": reason})
    if status == 413:
        return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, text=body,
                                             content_type="application/json")
    return classes[status](text=body, content_type="application/json")


def token_middleware(token: str | None) -> Callable:
    """Refuse (401) every request without ``token`` (None: no token is asked)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = given_token(request.headers.get("Authorization"), request.query.get("token"))
        if not token_matches(given, token):  # constant time
            raise refuse(401, "this server needs its token: open the page as "
                              "/?token=TOKEN or send 'Authorization: Bearer TOKEN'")
        return await handler(request)

    return check


async def read_json(request: web.Request, limit: int) -> dict:
    """The request's JSON object, or a 400 / 413 refusal saying what is wrong."""
    if request.content_length is not None and request.content_length > limit:
        raise refuse(413, f"the request body is {request.content_length} bytes; at most {limit}")
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise refuse(413, f"the request body is over {limit} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise refuse(400, f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise refuse(400, "the body must be a JSON object")
    return data


def decode_image(data: bytes, limit: int) -> np.ndarray:
    """An uploaded image as (H, W, 3) uint8 RGB; 400 / 413 for anything that is not a PNG, JPEG
    or WebP image of at most ``limit`` bytes and :data:`MAX_IMAGE_SIDE` px a side."""
    if len(data) > limit:
        raise refuse(413, f"the image is {len(data)} bytes; at most {limit}")
    if not data.startswith(_IMAGE_MAGIC) or (data.startswith(b"RIFF") and data[8:12] != b"WEBP"):
        raise refuse(400, "upload a PNG, JPEG or WebP image")
    size = _declared_size(data)
    if size is not None and max(size) > MAX_IMAGE_SIDE:
        raise refuse(400, f"the image is {size[0]}x{size[1]}; at most {MAX_IMAGE_SIDE} px a side")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise refuse(400, "the image could not be decoded: upload a PNG, JPEG or WebP image")
    if max(image.shape[:2]) > MAX_IMAGE_SIDE:
        raise refuse(400, f"the image is {image.shape[1]}x{image.shape[0]}; at most "
                          f"{MAX_IMAGE_SIDE} px a side")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG header, read before decoding (a small file may declare a
    huge image); None for other formats (their decoded size is checked)."""
    if data.startswith(_IMAGE_MAGIC[0]) and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None
