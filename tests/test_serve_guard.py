"""``streamedit serve``'s door: loopback unless a token, the token on every request, bounded
bodies, images only, and a 400 that changes nothing for anything malformed."""

from __future__ import annotations

import asyncio

import cv2
import numpy as np
import pytest

pytest.importorskip("aiortc", reason="the server's packages: pip install '.[serve]'")

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from streamedit_sdk.apps.access import is_loopback  # noqa: E402
from streamedit_sdk.apps.serve import ServeConfig  # noqa: E402
from streamedit_sdk.apps.serve.server import HUB, make_app  # noqa: E402
from streamedit_sdk.apps.serve.session import StreamSession  # noqa: E402
from streamedit_sdk.cli import main  # noqa: E402
from streamedit_sdk.edits.spec import EditSpec  # noqa: E402

TOKEN = "a-test-token-of-24-chars"
JSON_TYPE = {"Content-Type": "application/json"}
PNG_TYPE = {"Content-Type": "image/png"}


def _run(config: ServeConfig, body) -> None:
    """``body(client, app)`` against the app on a test server."""
    async def go():
        app = make_app(config)
        async with TestClient(TestServer(app)) as client:
            await body(client, app)
    asyncio.run(go())


def _png(h: int, w: int, value: int = 128) -> bytes:
    return cv2.imencode(".png", np.full((h, w, 3), value, np.uint8))[1].tobytes()


def test_only_loopback_without_a_token():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host)
        ServeConfig(host=host)
    for host in ("0.0.0.0", "192.0.2.2", "example.com", "::"):
        assert not is_loopback(host)
        with pytest.raises(ValueError, match="--token"):
            ServeConfig(host=host)
    ServeConfig(host="0.0.0.0", token=TOKEN)
    with pytest.raises(ValueError, match="at least 16"):
        ServeConfig(host="0.0.0.0", token="short")
    with pytest.raises(ValueError, match="unknown style"):
        ServeConfig(style="watercolour")
    with pytest.raises(ValueError, match="ice_servers"):
        ServeConfig(ice_servers=("http://stun.example.org",))
    assert main(["serve", "--host", "0.0.0.0"]) == 2


def test_every_request_needs_the_token():
    async def body(client, app):
        for path in ("/", "/app.js", "/config", "/stats"):
            assert (await client.get(path)).status == 401
            assert (await client.get(path, headers={"Authorization": "Bearer wrong"})
                    ).status == 401
        reply = await client.post("/offer", json={"type": "offer", "sdp": "v=0"})
        assert reply.status == 401 and app[HUB].sessions == {}
        page = await client.get("/", params={"token": TOKEN})
        assert page.status == 200
        assert f'src="app.js?token={TOKEN}"' in await page.text()  # the script is fetched too
        assert (await client.get("/app.js", params={"token": TOKEN})).status == 200
        reply = await client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"})
        assert reply.status == 200 and (await reply.json())["streams"] == []

    _run(ServeConfig(host="0.0.0.0", token=TOKEN), body)


def test_malformed_requests_get_400_and_change_nothing():
    offer = {"type": "offer", "sdp": "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nthis is not sdp\r\n"}
    bad = [b"not json", b"[1, 2]", b'{"type": "answer", "sdp": "v=0"}', b'{"type": "offer"}',
           b'{"type": "offer", "sdp": "v=0", "probe_rows": 4096}',
           b'{"type": "offer", "sdp": "v=0", "edit": {"style": "watercolour"}}',
           b'{"type": "offer", "sdp": "v=0", "edit": {"sticker": "/etc/passwd"}}',
           b'{"type": "offer", "sdp": "v=0", "edit": {"prompt": "make it blue"}}',
           b'{"type": "offer", "sdp": "v=0", "edit": {"style": "cartoon", "x": "1"}}']

    async def body(client, app):
        for data in bad:
            reply = await client.post("/offer", data=data, headers=JSON_TYPE)
            assert reply.status == 400, data
            assert "error" in await reply.json()
        reply = await client.post("/offer", json=offer)  # parses as JSON, fails as SDP
        assert reply.status == 400 and "offer" in (await reply.json())["error"]
        reply = await client.post("/offer", data=b"{" + b" " * (300 << 10) + b"}",
                                  headers=JSON_TYPE)
        assert reply.status == 413 and "error" in await reply.json()
        assert app[HUB].sessions == {} and (await (await client.get("/stats")).json()
                                             )["streams"] == []
        assert (await client.post("/session/nobody/edit", json={"style": "cartoon"})
                ).status == 404

    _run(ServeConfig(), body)


def test_uploads_are_size_limited_images_of_the_grabbed_frame():
    async def body(client, app):
        session = StreamSession("s1", lambda: pytest.fail("never started"),
                                EditSpec(style="cartoon"), 0, asyncio.get_running_loop())
        app[HUB].sessions["s1"] = session  # not started: its feed is filled by hand
        try:
            url = "/session/s1/image"
            reply = await client.post(url, data=_png(48, 64), headers=PNG_TYPE)
            assert reply.status == 409 and "grab" in (await reply.json())["error"]
            assert (await client.get("/session/s1/frame.png")).status == 409  # no frame yet
            session.feed.last = np.full((48, 64, 3), 90, np.uint8)
            frame = await client.get("/session/s1/frame.png")
            assert frame.status == 200 and frame.content_type == "image/png"
            grabbed = cv2.imdecode(np.frombuffer(await frame.read(), np.uint8), cv2.IMREAD_COLOR)
            assert grabbed.shape == (48, 64, 3) and int(grabbed.mean()) == 90
            reply = await client.post(url, data=b"\0" * (80 << 10), headers=PNG_TYPE)
            assert reply.status == 413 and "error" in await reply.json()
            reply = await client.post(url, data=b"GIF89a" + b"\0" * 100, headers=PNG_TYPE)
            assert reply.status == 400
            huge = bytearray(_png(8, 8))
            huge[16:24] = (100_000).to_bytes(4, "big") * 2  # a header that declares 100000 px
            assert (await client.post(url, data=bytes(huge), headers=PNG_TYPE)).status == 400
            reply = await client.post(url, data=_png(64, 48), headers=PNG_TYPE)
            assert reply.status == 400 and "64x48" in (await reply.json())["error"]
            reply = await client.post(url, data=_png(48, 64))  # no image type: a form's post
            assert reply.status == 415
            assert session._requests.poll() is None  # nothing was accepted so far
            assert (await client.post(url, data=_png(48, 64, 200), headers=PNG_TYPE)
                    ).status == 202
            request = session._requests.poll()
            edited = cv2.imread(str(request.spec.edited_ref))
            assert edited.shape == (48, 64, 3) and int(edited.mean()) == 200
            assert int(request.reference_frame(grabbed).mean()) == 90
            reply = await client.post("/session/s1/report", json={"nested": {"a": 1}})
            assert reply.status == 400 and session.report == {}
        finally:
            session.close()

    _run(ServeConfig(max_upload_bytes=64 << 10), body)


def test_prompts_only_with_diffusion_weights_configured():
    from streamedit_sdk.generative import PromptEdit

    async def body(client, app):
        session = StreamSession("s1", lambda: pytest.fail("never started"),
                                EditSpec(style="cartoon"), 0, asyncio.get_running_loop())
        app[HUB].sessions["s1"] = session
        try:
            config = await (await client.get("/config")).json()
            assert config["prompt"] is True and "sketch" in config["styles"]
            reply = await client.post("/session/s1/edit", json={"prompt": "x" * 501})
            assert reply.status == 400 and session._requests.poll() is None
            reply = await client.post("/session/s1/edit", json={"prompt": "make it blue"})
            assert reply.status == 202
            spec = session._requests.poll().spec
            assert spec.prompt.prompt == "make it blue" and spec.prompt.weights == "/weights"
        finally:
            session.close()

    _run(ServeConfig(prompt=PromptEdit("typed on the page", "/weights")), body)
