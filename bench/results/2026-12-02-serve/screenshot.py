"""A screenshot of the page while it streams (Chromium headless, DevTools protocol)."""

import asyncio
import base64
import json
import subprocess
import sys

import aiohttp
from serve_peers import ServerThread
from streamedit_sdk.apps.serve import ServeConfig


async def shoot(port, out):
    async with aiohttp.ClientSession() as http:
        for _ in range(50):
            try:
                targets = await (await http.get(f"http://127.0.0.1:{port}/json")).json()
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
        page = next(t for t in targets if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            await asyncio.sleep(float(sys.argv[2]))
            await ws.send_json(
                {"id": 1, "method": "Page.captureScreenshot", "params": {"format": "png"}}
            )
            while True:
                msg = json.loads((await ws.receive()).data)
                if msg.get("id") == 1:
                    break
    open(out, "wb").write(base64.b64decode(msg["result"]["data"]))


with ServerThread(ServeConfig(port=0)) as server:
    page = f"{server.url}/?autostart=1&seconds=30&style={sys.argv[3]}&audio=0"
    p = subprocess.Popen(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-port=9333",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--use-file-for-fake-video-capture=/tmp/camera.y4m",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1280,840",
            "--user-data-dir=/tmp/streamedit-shot-profile",
            page,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        asyncio.run(shoot(9333, sys.argv[1]))
    finally:
        p.kill()
        p.wait()
