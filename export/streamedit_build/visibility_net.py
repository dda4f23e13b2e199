"""The visibility network: is the face surface of the reference what the frame shows, per
pixel of the face? A small U-Net over the face's box, trained on occluders composited over
real clips with exact masks (:mod:`.visibility_data`).

Input (1, 7, S, S) float32, S = :data:`~streamedit_sdk.core.visibility.NET_SIDE`: the frame's
face box (RGB, 0..1 less 0.5), the reference sampled there through the face mesh (the same),
and the face's mask (0/1). Output (1, 1, S, S): the logit of "hidden" (an occluder in front,
or no face surface there). Three levels at S/2, S/4, S/8 find what is in front of the face;
a last level at S, fed by a thin layer over the input, places its edge (a fingertip is a few
pixels of the box). About 30 MMAC a face at S = 64, 0.9 ms on one CPU core.
"""

from __future__ import annotations

import torch
from torch import nn

CHANNELS = (16, 32, 48)  # per level of the U-Net (S/2, S/4, S/8 px)
FULL = 8  # channels of the level at the input's own size (S px)
INPUTS = 7


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
                         nn.ReLU(inplace=True))


class VisibilityNet(nn.Module):
    """A thin level at the input's size, three levels down from it, all four up with skips."""

    def __init__(self, channels: tuple[int, int, int] = CHANNELS, full: int = FULL) -> None:
        super().__init__()
        c0, c1, c2 = channels
        self.e0 = _conv(INPUTS, full)
        self.e1 = nn.Sequential(_conv(full, c0, 2), _conv(c0, c0))
        self.e2 = nn.Sequential(nn.MaxPool2d(2), _conv(c0, c1), _conv(c1, c1))
        self.e3 = nn.Sequential(nn.MaxPool2d(2), _conv(c1, c2), _conv(c2, c2))
        self.d2 = _conv(c2 + c1, c1)
        self.d1 = _conv(c1 + c0, c0)
        self.d0 = _conv(c0 + full, full)
        self.out = nn.Conv2d(full, 1, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.smooth_up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.e0(x)
        x1 = self.e1(x0)
        x2 = self.e2(x1)
        x3 = self.e3(x2)
        y = self.d2(torch.cat([self.up(x3), x2], 1))
        y = self.d1(torch.cat([self.up(y), x1], 1))
        y = self.d0(torch.cat([self.smooth_up(y), x0], 1))
        return self.out(y)
