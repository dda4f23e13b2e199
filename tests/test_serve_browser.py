"""``streamedit serve`` in a real browser: headless Chromium sends a clip as its camera
(``--use-file-for-fake-video-capture``), the page measures what comes back and reports it."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

pytest.importorskip("aiortc", reason="the server's packages: pip install '.[serve]'")

from serve_peers import ServerThread  # noqa: E402

from streamedit_sdk.apps.serve import ServeConfig  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SECONDS = 8  # the page streams this long, then reports and hangs up


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (.ci/run installs it with apt)")


def _camera_file(clips, tmp_path):
    """The first 3 s of d11 as the Y4M file Chromium's fake camera plays (in a loop)."""
    out = tmp_path / "camera.y4m"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clips / "d11.mp4"), "-t", "3",
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def test_the_page_in_chromium_gets_the_edit_back_and_measures_latency(clips, tmp_path):
    browser = _browser()
    camera = _camera_file(clips, tmp_path)
    with ServerThread(ServeConfig(port=0)) as server:
        page = f"{server.url}/?autostart=1&seconds={SECONDS}&style=sketch&audio=1"
        chromium = subprocess.Popen(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
             f"--use-file-for-fake-video-capture={camera}",
             "--autoplay-policy=no-user-gesture-required",
             f"--user-data-dir={tmp_path / 'profile'}", page],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + SECONDS + 90
            ended = []
            while not ended and time.monotonic() < deadline:
                time.sleep(1)
                ended = [s for s in server.get("/stats")["ended"] if s["browser"].get("final")]
        finally:
            chromium.kill()
            chromium.wait(30)
    assert ended, "the page did not report a finished stream"
    stats = ended[0]
    browser_side = stats["browser"]
    # the server's counters: every frame the browser sent was edited, passed or dropped
    assert stats["frames_in"] == (stats["frames_edited"] + stats["passed_through"]
                                  + stats["dropped"] + stats["abandoned"]), stats
    assert stats["frames_edited"] >= 30 and stats["face_tracked"] is True, stats
    # the page: the edited video played, the frame stamps came back readable, latency measured
    assert browser_side["frames_received"] >= 20, browser_side
    assert browser_side["frames_stamped"] >= 0.9 * browser_side["frames_received"], browser_side
    assert browser_side["latency_samples"] == browser_side["frames_stamped"]
    assert 0 < browser_side["latency_p50_ms"] <= browser_side["latency_p95_ms"]
    # the sketch is in the returned frames: far from the frames sent (codec noise is ~2 levels)
    assert browser_side["edit_diff_median"] > 30, browser_side
    assert browser_side["audio_tracks_received"] == 1, browser_side
