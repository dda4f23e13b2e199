"""A portrait clip with known motion: the astronaut photo, head moved by smooth warps.

Frame t is ``photo`` sampled at ``true_map(t)``, so that map *is* the exact correspondence
current -> reference (frame 0 = the photo). Tests and the demo use it as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

from streamedit_sdk.maps import identity_map


def astronaut() -> np.ndarray:
    """The astronaut photo, (512, 512, 3) RGB uint8: scikit-image's ``data.astronaut()``,
    shipped here as a lossless PNG (public domain, NASA; see ``data/README.md``)."""
    bgr = cv2.imread(str(resources.files("streamedit_sdk") / "apps" / "data" / "astronaut.png"),
                     cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError("streamedit_sdk/apps/data/astronaut.png is missing: reinstall "
                                "streamedit-sdk")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class HeadMotion:
    """Smooth head-like motion around ``centre`` (px): roll, nod, sway and zoom, fading out
    with a Gaussian of ``radius`` px so the background stays still. Amplitudes in degrees / px.
    """

    centre: tuple[float, float] = (235.0, 130.0)
    radius: float = 150.0
    roll_deg: float = 7.0
    sway_px: float = 16.0
    nod_px: float = 8.0
    zoom: float = 0.05
    period: float = 60.0  # frames

    def true_map(self, t: int, height: int, width: int) -> np.ndarray:
        """(H, W, 2) float32: where pixel (x, y) of frame t comes from in frame 0, px."""
        grid = identity_map(height, width)
        cx, cy = self.centre
        phase = 2.0 * np.pi * t / self.period
        ang = np.radians(self.roll_deg) * np.sin(phase)
        s = 1.0 + self.zoom * np.sin(0.5 * phase)
        b = np.array([self.sway_px * np.sin(0.7 * phase), self.nod_px * np.sin(1.3 * phase)],
                     np.float32)
        d = grid - np.array([cx, cy], np.float32)
        c, sn = np.cos(ang) / s, np.sin(ang) / s
        moved = np.stack([c * d[..., 0] - sn * d[..., 1], sn * d[..., 0] + c * d[..., 1]], -1)
        moved += np.array([cx, cy], np.float32) - b
        w = np.exp(-(d ** 2).sum(-1) / (2.0 * self.radius ** 2))[..., None]
        return (grid + w * (moved - grid)).astype(np.float32)


def render(image: np.ndarray, true_map: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``true_map`` (bilinear, edge pixels replicated)."""
    return cv2.remap(image, true_map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def clip(frames: int = 90, motion: HeadMotion | None = None,
         image: np.ndarray | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``frames`` RGB frames of the moving head and their true maps (frame 0 = the photo)."""
    motion = motion or HeadMotion()
    photo = astronaut() if image is None else image
    h, w = photo.shape[:2]
    maps = [motion.true_map(t, h, w) for t in range(frames)]
    return [render(photo, m) for m in maps], maps
