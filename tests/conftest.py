"""Shared fixtures: the real clips, a seeded generator, synthetic meshes and maps."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from streamedit_sdk.perception.geometry import delaunay, frame_anchors

# the live-stream tests' frames, clip, list source / sink and runner (their modules import the
# classes; the fixtures ``frames`` and ``clip_file`` come from here, and a module's own win);
# the file tests' videos made with the real ffmpeg (``face_clip``, ``long_clip``)
pytest_plugins = ("stream_helpers", "media_helpers")

CLIPS = Path(os.environ.get("STREAMEDIT_CLIPS",
                            Path(__file__).resolve().parents[1].parent / "shared" / "clips"))


@pytest.fixture(scope="session")
def clips() -> Path:
    """The real portrait clips (../shared/clips or $STREAMEDIT_CLIPS); skips where missing."""
    if not CLIPS.is_dir():
        pytest.skip(f"no portrait clips at {CLIPS}")
    return CLIPS


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def astronaut_face() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's photo (RGB uint8) and its landmarks ((478, 2) px), detected once."""
    from streamedit_sdk.apps import synthetic
    from streamedit_sdk.perception.landmarks import LandmarkTracker
    frame = synthetic.astronaut()
    with LandmarkTracker() as tracker:
        landmarks = tracker.detect(frame)
    assert landmarks is not None
    return frame, landmarks


def face_mesh(width: int, height: int, rng: np.random.Generator, n: int = 120,
              anchors: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Random face-like landmarks (an ellipse of points) and their Delaunay triangles."""
    r = np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([width / 2 + 0.3 * width * r * np.cos(a),
                    height / 2 + 0.35 * height * r * np.sin(a)], 1)
    if anchors:
        pts = np.concatenate([pts, frame_anchors(width, height)])
    pts = pts.astype(np.float32)
    return pts, delaunay(pts)


def smooth_map(height: int, width: int, rng: np.random.Generator,
               amplitude: float = 6.0) -> np.ndarray:
    """Identity plus a smooth random displacement (sum of a few sines), (H, W, 2) float32."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    dx = np.zeros_like(xs)
    dy = np.zeros_like(ys)
    for _ in range(3):
        fx, fy, px, py = rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5), *rng.uniform(0, 6.28, 2)
        dx += amplitude / 3 * np.sin(2 * np.pi * fx * xs / width + px) * np.cos(
            2 * np.pi * fy * ys / height + py)
        dy += amplitude / 3 * np.cos(2 * np.pi * fx * xs / width + py) * np.sin(
            2 * np.pi * fy * ys / height + px)
    return np.dstack([xs + dx, ys + dy]).astype(np.float32)
