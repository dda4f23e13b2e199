"""The "OBS in five steps" of docs/serving.md, followed in headless Chromium: the camera page
(step 2), its output link (3), that link in a second browser sized as an OBS Browser Source
(4), and the camera page behind another tab while the output keeps moving (5). Screenshots
``obs-step-N.jpg`` beside this file.

Run from the repository root: ``PYTHONPATH=tests python bench/results/2026-12-07-serve/
obs_steps.py`` (a clip of ../shared/clips is the camera)."""

import asyncio
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
from cdp import Chromium, camera_file
from serve_peers import ServerThread

from streamedit_sdk.apps.serve import ServeConfig

HERE = Path(__file__).resolve().parent
CLIP = Path("../shared/clips/s18_camera.mp4")


async def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        camera = camera_file(CLIP, work / "camera.y4m", "1280x720", seconds=4)
        with ServerThread(ServeConfig(port=0)) as server:  # step 1: streamedit serve
            async with Chromium(work / "streamer", camera) as chrome, \
                    Chromium(work / "obs", size=(1280, 720)) as obs:
                page = await chrome.open(f"{server.url}/?autostart=1&size=1280x720&audio=0")
                await page.until("document.getElementById('state').className === 'live'")
                await page.js("document.getElementById('style').value = 'teal-orange'; "
                              "document.getElementById('apply-style').click()")
                await page.until("counts.received > 30")
                await page.screenshot(HERE / "obs-step-2.jpg")  # camera page, live
                link = await page.js("document.getElementById('output').value")  # step 3
                source = await obs.open(link)  # step 4: the Browser Source, 1280x720
                await source.viewport(1280, 720)
                await source.until("document.getElementById('out').videoWidth > 0")
                await asyncio.sleep(2)
                await source.screenshot(HERE / "obs-step-4.jpg")
                await chrome.open("about:blank")  # step 5: the camera page behind a tab
                hidden = await page.js("document.visibilityState")
                before = cv2.imread(str(await source.screenshot(work / "a.png")))
                sent = await page.js("counts.sent")
                await asyncio.sleep(5)
                after = cv2.imread(str(await source.screenshot(HERE / "obs-step-5.jpg")))
                sent = await page.js("counts.sent") - sent
                stream = server.get("/stats")["streams"][0]
        moved = float(np.abs(after.astype(int) - before.astype(int)).mean())
        print(json.dumps({"camera page": hidden, "frames sent while hidden (5 s)": sent,
                          "output picture change over those 5 s (mean grey levels)":
                              round(moved, 1), "views": stream["views"],
                          "edit": stream["edit"], "output size":
                              [int(after.shape[1]), int(after.shape[0])]}))


asyncio.run(main())
