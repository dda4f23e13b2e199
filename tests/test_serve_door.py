"""``serve`` on a real network and against other web sites: an offer that arrives in pieces,
uploads checked before they are decoded and decoded off the event loop, JSON for every
error, and the Host / Origin / content-type rules (DNS rebinding, cross-site posts) shared
with ``stream --control``."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

pytest.importorskip("aiortc", reason="the server's packages: pip install '.[serve]'")

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from serve_peers import ClipTrack, ServerThread  # noqa: E402

from streamedit_sdk.apps.access import Asked, Door, given_token  # noqa: E402
from streamedit_sdk.apps.serve import ServeConfig  # noqa: E402
from streamedit_sdk.apps.serve import server as server_module  # noqa: E402
from streamedit_sdk.apps.serve.server import HUB, make_app  # noqa: E402
from streamedit_sdk.apps.serve.session import StreamSession  # noqa: E402
from streamedit_sdk.apps.stream.control import HttpControl  # noqa: E402
from streamedit_sdk.edits.spec import EditSpec  # noqa: E402

TOKEN = "a-test-token-of-24-chars"
JSON_TYPE = {"Content-Type": "application/json"}
PNG_TYPE = {"Content-Type": "image/png"}


def _run(config: ServeConfig, body) -> None:
    async def go():
        app = make_app(config)
        async with TestClient(TestServer(app)) as client:
            await body(client, app)
    asyncio.run(go())


def _fake_session(app, frame: np.ndarray | None = None, sid: str = "s1") -> StreamSession:
    """A stream that is not started (its feed is filled by hand), with ``frame`` grabbed."""
    session = StreamSession(sid, lambda: pytest.fail("never started"), EditSpec(style="cartoon"),
                            0, asyncio.get_running_loop())
    app[HUB].sessions[sid] = session
    if frame is not None:
        session.feed.last = frame
        session.grab()
    return session


async def _offer_sdp() -> str:
    """A real offer (video and audio), as a browser posts it."""
    from aiortc import AudioStreamTrack, RTCPeerConnection

    pc = RTCPeerConnection()
    pc.addTrack(ClipTrack([np.zeros((48, 64, 3), np.uint8)]))
    pc.addTrack(AudioStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def _post_in_pieces(port: int, path: str, body: bytes, chunked: bool,
                    piece: int = 1400, gap: float = 0.005) -> tuple[int, dict]:
    """POST ``body`` over a raw socket in ``piece``-byte writes ``gap`` s apart, as a real
    network delivers it; (status, JSON reply)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nConnection: close\r\n")
    if chunked:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        pieces = [f"{len(body[i:i + piece]):x}\r\n".encode() + body[i:i + piece] + b"\r\n"
                  for i in range(0, len(body), piece)] + [b"0\r\n\r\n"]
    else:
        head += f"Content-Length: {len(body)}\r\n\r\n"
        pieces = [body[i:i + piece] for i in range(0, len(body), piece)]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        for p in pieces:
            time.sleep(gap)
            sock.sendall(p)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    body_start = reply.index(b"\r\n\r\n") + 4
    raw = reply[body_start:]
    if b"Transfer-Encoding: chunked" in reply[:body_start]:
        out, rest = b"", raw
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            out, rest = out + rest[:n], rest[n + 2:]
            if n == 0:
                break
        raw = out
    return status, json.loads(raw)


@pytest.mark.parametrize("chunked", [False, True])
def test_an_offer_that_arrives_in_pieces_is_read_whole(chunked):
    """1400-byte pieces 5 ms apart (a real network): the whole offer is read, not the part
    that had arrived (that gave 400 'Unterminated string')."""
    sdp = asyncio.run(_offer_sdp())
    body = json.dumps({"type": "offer", "sdp": sdp, "edit": {"style": "sketch"}}).encode()
    with ServerThread(ServeConfig(port=0)) as server:
        status, reply = _post_in_pieces(server.port, "/offer", body, chunked)
        assert status == 200, reply
        assert reply["type"] == "answer" and reply["sdp"].startswith("v=0")
        assert server.get(f"/session/{reply['session']}/stats")["stream"] == 1
        req = urllib.request.Request(f"{server.url}/session/{reply['session']}",
                                     method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()


def _png(h: int, w: int, value: int = 128) -> bytes:
    return cv2.imencode(".png", np.full((h, w, 3), value, np.uint8))[1].tobytes()


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is rewritten to declare ``width`` x ``height``."""
    data = bytearray(cv2.imencode(".jpg", np.full((16, 16, 3), 100, np.uint8))[1].tobytes())
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 7] = height.to_bytes(2, "big")
    data[at + 7:at + 9] = width.to_bytes(2, "big")
    return bytes(data)


def test_uploads_are_checked_before_decoding_and_decoded_off_the_event_loop(monkeypatch):
    """A small file that declares a huge image is refused by its header (it used to be
    decoded on the event loop first: 7 s of a stalled server); images are decoded on a
    worker, at most ``max_decodes`` at once, while the server keeps answering."""
    bomb = cv2.imencode(".png", np.zeros((8192, 8192), np.uint8))[1].tobytes()
    assert len(bomb) < 300_000  # a few hundred KB on the wire, 200 MB decoded
    decoded, running, most = [], [0], [0]
    lock = threading.Lock()
    real_decode = server_module.decode_image

    def decode(data):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        decoded.append(threading.current_thread().name)
        time.sleep(0.3)
        try:
            return real_decode(data)
        finally:
            with lock:
                running[0] -= 1
    monkeypatch.setattr(server_module, "decode_image", decode)

    async def body(client, app):
        session = _fake_session(app, np.full((48, 64, 3), 90, np.uint8))
        url = "/session/s1/image"
        try:
            replies = await asyncio.gather(*(client.post(url, data=bomb, headers=PNG_TYPE)
                                             for _ in range(3)))
            for r in replies:
                assert r.status == 400
                assert "is 8192x8192 but the grabbed frame is 64x48" in (await r.json())["error"]
            for declared in ((65000, 65000), (64, 48)):  # huge; right size but not decodable
                bad = _jpeg_declaring(*declared)
                if declared == (64, 48):
                    bad = bad[:bad.index(b"\xff\xda")] + b"\xff\xda" + b"\x00" * 64
                r = await client.post(url, data=bad, headers={"Content-Type": "image/jpeg"})
                assert r.status == 400, declared
                assert "error" in await r.json()
            assert len(decoded) == 1  # only the right-size JPEG reached the decoder
            uploads = [asyncio.ensure_future(client.post(url, data=_png(48, 64, 200),
                                                         headers=PNG_TYPE)) for _ in range(5)]
            await asyncio.sleep(0.1)
            stats = await client.get("/stats")  # answered while the decoders work
            assert stats.status == 200 and not all(u.done() for u in uploads)
            assert [r.status for r in await asyncio.gather(*uploads)] == [202] * 5
        finally:
            session.close()

    _run(ServeConfig(max_decodes=2), body)
    loop_thread = threading.main_thread().name
    assert most[0] == 2 and loop_thread not in decoded


def test_every_error_is_json():
    """aiohttp's own refusals (an unknown route, a method a route does not take, a body over
    the limit) are the documented JSON too, so the page can show them."""
    async def body(client, app):
        for reply in (await client.get("/nothing-here"), await client.put("/offer"),
                      await client.post("/offer", data=b"{" + b" " * 4096 + b"}",
                                        headers=JSON_TYPE)):
            assert reply.status in (404, 405, 413), reply.status
            assert reply.content_type == "application/json"
            assert (await reply.json())["error"]

    _run(ServeConfig(max_request_bytes=2048), body)


def test_other_sites_are_refused():
    """DNS rebinding (another name for 127.0.0.1) and cross-site posts (a page the streamer
    visits) cannot read or change a stream; ids stay out of unauthenticated listings."""
    async def body(client, app):
        port = client.server.port
        session = _fake_session(app)
        try:
            for path in ("/", "/stats", "/config", f"/session/{session.id}/stats"):
                reply = await client.get(path, headers={"Host": "evil.example"})
                assert reply.status == 403, path
                assert "localhost" in (await reply.json())["error"]
            for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}",
                         "edit.example.com"):
                assert (await client.get("/stats", headers={"Host": host})).status == 200
            edit = f"/session/{session.id}/edit"
            style = b'{"style": "sketch"}'
            reply = await client.post(edit, data=style, headers={
                "Origin": "http://evil.example", "Content-Type": "text/plain"})
            assert reply.status == 403 and "another web site" in (await reply.json())["error"]
            reply = await client.post(edit, data=style, headers={"Content-Type": "text/plain"})
            assert reply.status == 415  # a form or text/plain post, which needs no preflight
            reply = await client.post(edit, data=style, headers={
                "Origin": f"http://evil.example:{port}", **JSON_TYPE})
            assert reply.status == 403
            assert session._requests.poll() is None  # nothing was changed
            reply = await client.post(edit, data=style, headers={
                "Origin": f"http://127.0.0.1:{port}", **JSON_TYPE})
            assert reply.status == 202  # the page itself
            listing = await (await client.get("/stats")).json()
            assert listing["streams"] and "id" not in listing["streams"][0]
            assert session.id not in json.dumps(listing)
        finally:
            session.close()

    _run(ServeConfig(allowed_hosts=("edit.example.com",)), body)


def test_no_other_site_may_frame_the_pages():
    async def body(client, app):
        for path in ("/", "/view"):
            reply = await client.get(path)
            assert reply.status == 200
            assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
            assert reply.headers["X-Frame-Options"] == "DENY"

    _run(ServeConfig(), body)


def test_the_startup_link_of_an_ipv6_host_has_brackets():
    from streamedit_sdk.cli.serve import page_url

    assert page_url(ServeConfig(host="::1", port=8399)) == "http://[::1]:8399/"
    assert page_url(ServeConfig(port=8080)) == "http://localhost:8080/"


def test_views_that_never_connect_never_lock_the_output_out(clips):
    """Each view that is answered but never connects would hold a place: the oldest makes
    room for a new one, and those that never connect are closed after connect_timeout_s."""
    from serve_peers import stream_clip

    from streamedit_sdk.io.video import VideoReader

    frames = [f for _, f in zip(range(20), VideoReader(clips / "d11.mp4"))]
    key = "an-output-key-for-the-test"

    async def scenario(server):
        from aiortc import RTCPeerConnection

        stream = asyncio.ensure_future(stream_clip(server.url, frames, 6.0,
                                                   {"style": "sketch"}, output_key=key))
        await asyncio.sleep(2.0)
        statuses = []
        for _ in range(6):
            pc = RTCPeerConnection()
            pc.addTransceiver("video", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            body = json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}).encode()
            await pc.close()  # gone: never connects
            statuses.append(await asyncio.get_running_loop().run_in_executor(
                None, server.post, f"/output/{key}/offer", body))
        views = server.get("/stats")["streams"][0]["views"]
        await asyncio.sleep(3.0)  # past connect_timeout_s
        later = server.get("/stats")["streams"][0]["views"]
        await stream
        return statuses, views, later

    with ServerThread(ServeConfig(port=0, max_views=4, connect_timeout_s=2.0)) as server:
        statuses, views, later = asyncio.run(scenario(server))
    assert statuses == [200] * 6 and views == 4 and later == 0


def test_tokens_are_secrets_and_bearer_is_any_case():
    with pytest.raises(ValueError, match="spaces"):
        ServeConfig(host="0.0.0.0", token=" " * 16)
    with pytest.raises(ValueError, match="spaces"):
        ServeConfig(host="0.0.0.0", token="sixteen chars ok")
    assert given_token("bearer abc", None) == "abc" == given_token("BEARER  abc ", None)
    assert given_token("Basic abc", "q") == "q"

    async def body(client, app):
        session = _fake_session(app)
        try:
            for scheme in ("Bearer", "bearer", "BEARER"):
                reply = await client.get("/stats", headers={
                    "Authorization": f"{scheme} {TOKEN}", "Host": "stream.example.org"})
                assert reply.status == 200, scheme  # (with a token, any name may be used)
            listing = await reply.json()
            assert listing["streams"][0]["id"] == session.id  # shown to the token's holder
        finally:
            session.close()

    _run(ServeConfig(host="0.0.0.0", token=TOKEN), body)


def _control_status(url: str, body: bytes | None, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers,
                                     method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def test_stream_control_keeps_other_sites_out_too(tmp_path):
    """``stream --control`` has the same door: a page the streamer visits cannot put an
    image of their disk into the broadcast (edited_ref names a file)."""
    edited = tmp_path / "private.png"
    cv2.imwrite(str(edited), np.full((32, 32, 3), 10, np.uint8))
    request = json.dumps({"edited_ref": str(edited)}).encode()
    control = HttpControl(0, lambda: {"frames_out": 1})
    port = control.url.rsplit(":", 1)[1]
    try:
        edit, stats = control.url + "/edit", control.url + "/stats"
        assert _control_status(stats, None, {"Host": "evil.example"}) == 403
        assert _control_status(edit, request, {"Content-Type": "text/plain",
                                               "Origin": "http://evil.example"}) == 403
        assert _control_status(edit, request, {"Content-Type": "text/plain"}) == 415
        assert control.poll() is None
        assert _control_status(edit, request, {**JSON_TYPE,
                                               "Origin": f"http://127.0.0.1:{port}"}) == 202
        assert control.poll().spec.edited_ref == edited
        for method in ("PUT", "DELETE", "OPTIONS"):  # every method passes the door first
            req = urllib.request.Request(edit, data=request, method=method,
                                         headers={"Host": "evil.example"})
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=5)
            assert err.value.code == 403 and "error" in json.load(err.value)
        req = urllib.request.Request(stats, method="DELETE")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 405
    finally:
        control.close()


def test_the_door_rules_one_by_one():
    door = Door()
    ask = lambda **kw: Asked(**{"method": "GET", "host": "localhost:8080", "origin": None,  # noqa: E731
                                "authorization": None, "query_token": None,
                                "content_type": None, **kw})
    assert door.refusal(ask()) is None
    assert door.refusal(ask(host=None))[0] == 403
    assert door.refusal(ask(host="localhost.evil.example"))[0] == 403
    assert door.refusal(ask(origin="null"))[0] == 403
    assert door.refusal(ask(origin="http://localhost:3000"))[0] == 403  # another local site
    assert door.refusal(ask(origin="http://localhost:8080")) is None
    assert door.refusal(ask(host="localhost", origin="http://localhost:3000"))[0] == 403
    assert door.refusal(ask(host="localhost", origin="http://localhost")) is None  # port 80
    proxied = Door(hosts=("edit.example.com",))  # behind TLS: no port in the Host
    assert proxied.refusal(ask(host="edit.example.com",
                               origin="https://edit.example.com")) is None
    assert proxied.refusal(ask(host="edit.example.com",
                               origin="https://edit.example.com:8443"))[0] == 403
    json_only = ("application/json",)
    assert door.refusal(ask(method="POST", content_type="application/json"), json_only) is None
    assert door.refusal(ask(method="POST", content_type="text/plain"), json_only)[0] == 415
