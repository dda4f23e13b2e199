"""The ``serve`` page as a streamer uses it, in a real headless Chromium driven over the
DevTools protocol (its fake camera plays a clip): frames keep flowing behind another tab, a
closed tab or a killed browser frees its place, the OBS output view, the camera's own size,
mirror, the edit's label, busy before the camera opens, a clear disconnected state and the
reconnection when the server comes back, and upload errors shown on the page."""

from __future__ import annotations

import asyncio
import json

import cv2
import numpy as np
import pytest

pytest.importorskip("aiortc", reason="the server's packages: pip install '.[serve]'")

from cdp import Chromium, camera_file  # noqa: E402
from serve_peers import ServerThread, stream_clip  # noqa: E402

from streamedit_sdk.apps.serve import ServeConfig  # noqa: E402
from streamedit_sdk.io.video import VideoReader  # noqa: E402

LIVE = "document.getElementById('state').className === 'live'"


@pytest.fixture(scope="module")
def camera(clips, tmp_path_factory):
    """d11 (512x512, a child's face) as the fake camera."""
    return camera_file(clips / "d11.mp4", tmp_path_factory.mktemp("camera") / "d11.y4m")


def _stream(server: ServerThread, number: int | None = None) -> dict | None:
    streams = server.get("/stats")["streams"]
    if number is not None:
        streams = [s for s in streams if s["stream"] == number]
    return streams[0] if streams else None


def _ended(server: ServerThread) -> list[dict]:
    return server.get("/stats")["ended"]


async def _wait(predicate, timeout: float = 30.0, every: float = 0.25):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = await asyncio.get_running_loop().run_in_executor(None, predicate)
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError("timed out")


def test_frames_keep_flowing_when_the_page_is_behind_another_tab(camera, tmp_path):
    """A streamer captures another window into OBS: the page's tab is hidden (timers and
    animation frames throttled), yet frames still go up and the edit still comes back."""
    async def scenario(server):
        async with Chromium(tmp_path / "profile", camera) as browser:
            page = await browser.open(f"{server.url}/?autostart=1&style=sketch&audio=0")
            await page.until(LIVE)
            await page.until("counts.received > 10")
            await browser.open("about:blank")  # another tab in front
            assert await page.js("document.visibilityState") == "hidden"
            sent, received = await page.js("[counts.sent, counts.received]")
            edited = _stream(server)["frames_edited"]
            await asyncio.sleep(4.0)
            assert await page.js("document.visibilityState") == "hidden"
            sent2, received2 = await page.js("[counts.sent, counts.received]")
            edited2 = _stream(server)["frames_edited"]
        return sent2 - sent, received2 - received, edited2 - edited

    with ServerThread(ServeConfig(port=0)) as server:
        sent, received, edited = asyncio.run(scenario(server))
    assert sent >= 40, sent  # the 25 fps camera kept going up (0 before: throttled)
    assert edited >= 10 and received >= 10, (edited, received)


@pytest.mark.parametrize("how", ["tab closed", "browser killed"])
def test_a_page_that_goes_away_frees_its_place(camera, tmp_path, how):
    """A closed tab says goodbye (``pagehide``): its stream ends at once. A browser killed
    outright says nothing: its stream ends when no frame has come for ``peer_timeout_s``."""
    async def scenario(server):
        async with Chromium(tmp_path / "profile", camera) as browser:
            page = await browser.open(f"{server.url}/?autostart=1&audio=0")
            await page.until(LIVE)
            await page.until("counts.received > 5")
            assert server.get("/config")["busy"] is True  # (one place)
            gone = asyncio.get_running_loop().time()
            if how == "tab closed":
                await page.close()
            else:
                browser.kill()
            await _wait(lambda: not server.get("/stats")["streams"], timeout=20)
            seconds = asyncio.get_running_loop().time() - gone
            await _wait(lambda: _ended(server), timeout=20)  # (its final stats, once closed)
            return seconds

    with ServerThread(ServeConfig(port=0, max_streams=1, peer_timeout_s=3.0)) as server:
        seconds = asyncio.run(scenario(server))
        ended = _ended(server)[-1]
        assert server.get("/config")["busy"] is False  # the place is free again
    if how == "tab closed":
        assert ended["ended_by"] == "the page closed" and seconds < 3, (ended, seconds)
    else:
        assert ended["ended_by"].startswith("the browser went away") and seconds < 8, seconds


def test_the_page_a_streamer_works_with(camera, tmp_path):
    """The camera's own size (a 512x512 camera is not cropped to 640x480), mirror view, the
    active edit's label, the OBS output view (the edited picture alone, no stamp strip), and
    an upload error shown on the page."""
    wrong = tmp_path / "wrong-size.png"
    cv2.imwrite(str(wrong), np.full((100, 100, 3), 90, np.uint8))

    async def scenario(server):
        async with Chromium(tmp_path / "profile", camera) as browser:
            page = await browser.open(f"{server.url}/?autostart=1&style=sketch&audio=0"
                                      "&mirror=1")
            await page.until(LIVE)
            await page.until("counts.received > 10")
            found = {"size": await page.js("[size.w, size.h]"),
                     "mirror": await page.js(
                         "getComputedStyle(document.getElementById('local')).transform"),
                     "label": await page.until(
                         "document.getElementById('edit').textContent !== '–' && "
                         "document.getElementById('edit').textContent")}
            await page.js("document.getElementById('place').value = 'cheek-right'; "
                          "document.getElementById('apply-sticker').click()")
            found["new label"] = await page.until(
                "document.getElementById('edit').textContent.includes('star') && "
                "document.getElementById('edit').textContent")
            link = await page.js("document.getElementById('output').value")
            view = await browser.open(link)
            await view.until("document.getElementById('out').videoWidth > 0")
            await asyncio.sleep(1.0)
            found["view size"] = await view.js("[document.getElementById('out').videoWidth, "
                                               "document.getElementById('out').videoHeight]")
            found["views"] = _stream(server)["views"]
            found["shot"] = await view.screenshot(tmp_path / "view.png")
            await page.front()
            await page.js("document.getElementById('grab').click()")
            await page.set_files("#upload", [wrong])
            await page.js("document.getElementById('upload').dispatchEvent("
                          "new Event('change'))")
            found["upload"] = await page.until(
                "document.getElementById('state').className === 'error' && "
                "document.getElementById('state').textContent")
            found["page shot"] = await page.screenshot(tmp_path / "page.png")
            await page.js("document.getElementById('stop').click()")
            found["view after stop"] = await view.until(  # no frozen frame left on air
                "document.getElementById('out').style.visibility === 'hidden' && 'hidden'",
                timeout=5)
        return found

    with ServerThread(ServeConfig(port=0)) as server:
        found = asyncio.run(scenario(server))
    assert found["size"] == [512, 512]  # the camera's own size, not 640x480
    assert found["mirror"].startswith("matrix(-1")
    assert found["label"] == "style sketch"
    assert found["new label"] == "star sticker on the cheek right"
    assert found["view size"] == [512, 512] and found["views"] == 1  # no stamp rows
    shot = cv2.imread(str(found["shot"]))
    assert shot is not None and shot.std() > 20  # a picture, not an empty page
    assert "is 100x100 but the grabbed frame is 512x512" in found["upload"]
    assert found["view after stop"] == "hidden"


def test_busy_is_known_before_the_camera_opens(camera, tmp_path, clips):
    frames = [f for _, f in zip(range(20), VideoReader(clips / "d11.mp4"))]

    async def scenario(server):
        first = asyncio.ensure_future(stream_clip(server.url, frames, 8.0))
        await _wait(lambda: server.get("/config")["busy"], timeout=20)
        async with Chromium(tmp_path / "profile", camera) as browser:
            page = await browser.open(f"{server.url}/?autostart=1&audio=0")
            state = await page.until(
                "document.getElementById('state').className === 'busy' && "
                "document.getElementById('state').textContent")
            opened = await page.js("document.getElementById('local').srcObject !== null")
        await first
        return state, opened

    with ServerThread(ServeConfig(port=0, max_streams=1)) as server:
        state, opened = asyncio.run(scenario(server))
    assert state.startswith("busy") and opened is False


def test_the_page_says_disconnected_and_reconnects_when_the_server_returns(camera,
                                                                          tmp_path):
    async def scenario():
        server = ServerThread(ServeConfig(port=0)).__enter__()
        port = server.port
        async with Chromium(tmp_path / "profile", camera) as browser:
            page = await browser.open(f"{server.url}/?autostart=1&style=sketch&audio=0")
            await page.until(LIVE)
            await page.until("counts.received > 5")
            await asyncio.get_running_loop().run_in_executor(None, server.__exit__)
            down = await page.until("document.getElementById('state').textContent"
                                    ".startsWith('disconnected') && "
                                    "document.getElementById('state').textContent", timeout=15)
            back = ServerThread(ServeConfig(port=0), port=port).__enter__()
            try:
                await page.until(LIVE, timeout=40)
                received = await page.js("counts.received")
                await page.until(f"counts.received > {received} + 10", timeout=30)
                streams = back.get("/stats")["streams"]
            finally:
                await asyncio.get_running_loop().run_in_executor(None, back.__exit__)
        return down, streams

    down, streams = asyncio.run(scenario())
    assert "reconnecting" in down
    assert len(streams) == 1 and streams[0]["frames_edited"] > 0
    assert streams[0]["edit"] == "style sketch"  # the edit in use came back with it


def test_a_stream_that_never_connects_frees_its_place(clips):
    """Offers whose browser never completes the connection (UDP blocked): each is closed
    ``connect_timeout_s`` after its answer, and the server is no longer busy."""
    from aiortc import RTCPeerConnection

    from serve_peers import ClipTrack

    frame = next(iter(VideoReader(clips / "d11.mp4")))

    async def offers(server, n):
        for _ in range(n):
            pc = RTCPeerConnection()
            pc.addTrack(ClipTrack([frame]))
            await pc.setLocalDescription(await pc.createOffer())
            body = json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}).encode()
            await pc.close()  # gone before any check: the server's ICE never completes
            status = await asyncio.get_running_loop().run_in_executor(
                None, server.post, "/offer", body)
            assert status == 200
        return server.get("/config")["busy"]

    with ServerThread(ServeConfig(port=0, max_streams=2, connect_timeout_s=2.0)) as server:
        busy = asyncio.run(offers(server, 2))
        asyncio.run(_wait(lambda: len(_ended(server)) == 2, timeout=15))
        ended = _ended(server)
        free = server.get("/config")["busy"] is False
    assert busy is True and free
    assert [e["ended_by"] for e in ended] == ["never connected within 2 s"] * 2
