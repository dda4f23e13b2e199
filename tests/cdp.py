"""Headless Chromium driven over the DevTools protocol, for the page tests of ``serve``: tabs
that can be put behind another one, closed, or lost with the whole browser; JavaScript
evaluated in a tab; screenshots. Only aiohttp (a test dependency already) is used."""

from __future__ import annotations

import asyncio
import base64
import itertools
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser_path() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (.ci/run installs it with apt)")


def camera_file(source: Path, out: Path, size: str | None = None, seconds: float = 3) -> Path:
    """``seconds`` of ``source`` as the Y4M file Chromium's fake camera plays in a loop;
    ``size`` WxH scales it (a camera of that size)."""
    scale = ["-vf", f"scale={size.replace('x', ':')}"] if size else []
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-t", str(seconds),
                    *scale, "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


class Tab:
    """One page of the browser (a CDP session attached to its target)."""

    def __init__(self, browser: "Chromium", target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session

    async def js(self, expression: str):
        """The value of ``expression`` in the page (awaited when it is a promise)."""
        reply = await self.browser.send("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session)
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def until(self, expression: str, timeout: float = 60.0, every: float = 0.25):
        """Wait until ``expression`` is truthy in the page; its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                value = await self.js(expression)
            except AssertionError as exc:  # the page is not there yet (loading, navigating)
                value, error = None, exc
            else:
                error = None
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                state = await self.js(STATE) if error is None else error
                raise AssertionError(f"timed out waiting for {expression} (state: {state!r})")
            await asyncio.sleep(every)

    async def front(self) -> None:
        await self.browser.send("Target.activateTarget", {"targetId": self.target})

    async def close(self) -> None:
        await self.browser.send("Target.closeTarget", {"targetId": self.target})

    async def screenshot(self, path: Path) -> Path:
        """The tab as it shows now, PNG or JPEG by ``path``'s extension."""
        jpeg = path.suffix.lower() in (".jpg", ".jpeg")
        params = {"format": "jpeg", "quality": 85} if jpeg else {"format": "png"}
        reply = await self.browser.send("Page.captureScreenshot", params, self.session)
        path.write_bytes(base64.b64decode(reply["data"]))
        return path

    async def viewport(self, width: int, height: int) -> None:
        """Show the page at exactly ``width`` x ``height`` CSS px (an OBS source's size)."""
        await self.browser.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            self.session)

    async def set_files(self, selector: str, files: list[Path]) -> None:
        """Choose ``files`` in the page's file input ``selector`` (as a user would)."""
        doc = await self.browser.send("DOM.getDocument", {}, self.session)
        node = await self.browser.send("DOM.querySelector", {
            "nodeId": doc["root"]["nodeId"], "selector": selector}, self.session)
        await self.browser.send("DOM.setFileInputFiles", {
            "files": [str(f) for f in files], "nodeId": node["nodeId"]}, self.session)


STATE = "document.getElementById('state') && document.getElementById('state').textContent"


class Chromium:
    """A headless Chromium whose fake camera plays ``camera`` (a Y4M file)."""

    def __init__(self, profile: Path, camera: Path | None = None,
                 size: tuple[int, int] = (1400, 900)) -> None:
        self.profile, self.camera, self.size = profile, camera, size
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.proc: subprocess.Popen | None = None

    async def __aenter__(self) -> "Chromium":
        args = [browser_path(), "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--remote-debugging-port=0",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                f"--window-size={self.size[0]},{self.size[1]}",
                f"--user-data-dir={self.profile}", "about:blank"]
        if self.camera is not None:
            args.insert(-1, f"--use-file-for-fake-video-capture={self.camera}")
        self.profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.is_file() and len(port_file.read_text().split()) == 2:
                break
            await asyncio.sleep(0.1)
        port, path = port_file.read_text().split()
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        self.kill()
        self._reader.cancel()
        await self._http.close()

    def kill(self) -> None:
        """The whole browser gone at once (a crash, a killed process): no page says goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    async def _read(self) -> None:
        async for message in self._ws:
            data = message.json()
            future = self._pending.pop(data.get("id"), None)
            if future is not None and not future.done():
                if "error" in data:
                    future.set_exception(RuntimeError(f"{data['error']}"))
                else:
                    future.set_result(data.get("result", {}))

    async def send(self, method: str, params: dict | None = None,
                   session: str | None = None) -> dict:
        mid = next(self._ids)
        message = {"id": mid, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._pending[mid] = future
        await self._ws.send_json(message)
        return await asyncio.wait_for(future, 60)

    async def open(self, url: str) -> Tab:
        """A new tab at ``url``, in front."""
        target = (await self.send("Target.createTarget", {"url": url}))["targetId"]
        session = (await self.send("Target.attachToTarget",
                                   {"targetId": target, "flatten": True}))["sessionId"]
        await self.send("Page.enable", {}, session)
        tab = Tab(self, target, session)
        await tab.front()
        return tab
