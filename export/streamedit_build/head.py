"""The PPCE head (paper §3.1): refine an initial correspondence and predict its uncertainty.

Inputs (all float32, batch B; H, W the frame size, h, w = ceil(H / stride), ceil(W / stride)):
    feat_cur, feat_ref: (B, C, h, w) backbone features of the current and reference frames.
    init_map: (B, 2, H, W) initial map current -> reference, absolute reference px (x, y),
        pixel centres on integers (the landmark warp, optionally refined by classical flow).
    face: (B, 1, H, W) 1 where the landmark warp covers the face (all 0 without a face).
    cur_gray, ref_gray: (B, 1, H, W) luminance 0..1 (the photometric branch of sigma).
Outputs:
    map: (B, 2, H, W) refined map, reference px.
    log_sigma: (B, 1, H, W) natural log of the Laplace scale of the intensity error (0..1).

How: the reference features are warped by the initial map (the DESIGN's cheaper equivalent of
running the backbone on the landmark-warped reference); current tokens attend to the warped
reference tokens in a (2r+1)^2 window (scaled dot-product cross-attention). The attention
weights average the initial map over the window, which gives an attended position; a small
context network gates it, adds a residual, predicts a coarse log-sigma and the weights of a
convex upsampling (learned, x stride) of the correction to full resolution. Every output layer
starts at zero, so an untrained head returns the initial map and the photometric sigma.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def feature_grid(map_px: torch.Tensor, stride: int, h: int, w: int) -> torch.Tensor:
    """Reference px (B, 2, h, w) -> grid_sample coordinates (B, h, w, 2) on a feature map whose
    cell j covers px [j*stride, (j+1)*stride) (align_corners=False)."""
    gx = 2.0 * (map_px[:, 0] + 0.5) / (stride * w) - 1.0
    gy = 2.0 * (map_px[:, 1] + 0.5) / (stride * h) - 1.0
    return torch.stack([gx, gy], -1)


def image_grid(map_px: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Reference px (B, 2, H, W) -> grid_sample coordinates (B, H, W, 2), align_corners=False."""
    return torch.stack([2.0 * (map_px[:, 0] + 0.5) / width - 1.0,
                        2.0 * (map_px[:, 1] + 0.5) / height - 1.0], -1)


def _shifts(x: torch.Tensor, r: int, mode: str) -> list[torch.Tensor]:
    """The (2r+1)^2 copies of ``x`` (B, C, h, w) shifted by (dy, dx) in [-r, r], row-major."""
    h, w = x.shape[-2:]
    p = F.pad(x, (r, r, r, r), mode=mode)
    return [p[:, :, r + dy:r + dy + h, r + dx:r + dx + w]
            for dy in range(-r, r + 1) for dx in range(-r, r + 1)]


def softmax_dim1(x: torch.Tensor) -> torch.Tensor:
    """Softmax over axis 1 written out: onnxruntime's Softmax on an inner axis transposes the
    tensor twice (35 ms instead of 2 ms for the upsampling weights of a 512 px frame)."""
    e = torch.exp(x - x.amax(1, keepdim=True))
    return e / e.sum(1, keepdim=True)


def convex_upsample(x: torch.Tensor, mask: torch.Tensor, factor: int) -> torch.Tensor:
    """Learned upsampling (RAFT-style): each fine pixel is a convex combination of the 3x3
    coarse neighbours. x: (B, D, h, w); mask: (B, 9 * factor^2, h, w) logits.
    Returns (B, D, h * factor, w * factor)."""
    b, d, h, w = x.shape
    weights = softmax_dim1(mask.reshape(b, 9, factor * factor, h, w)).unsqueeze(1)
    neigh = torch.stack(_shifts(x, 1, "replicate"), 2).reshape(b, d, 9, 1, h, w)
    up = (weights * neigh).sum(2).reshape(b, d * factor * factor, h, w)
    return F.pixel_shuffle(up, factor)  # one DepthToSpace instead of a 6-D transpose


class PPCEHead(nn.Module):
    """See the module docstring. ``channels``/``stride``: the backbone's; ``radius``: attention
    window half-size in feature cells; ``hidden``: width of the context network."""

    def __init__(self, channels: int, stride: int, radius: int = 3, hidden: int = 48,
                 key_dim: int = 16) -> None:
        super().__init__()
        self.stride, self.radius = stride, radius
        k = (2 * radius + 1) ** 2
        self.query = nn.Conv2d(channels, key_dim, 1)
        self.key = nn.Conv2d(channels, key_dim, 1)
        self.log_temperature = nn.Parameter(torch.tensor(0.0))
        self.scale = 1.0 / math.sqrt(key_dim)
        self.context = nn.Sequential(
            nn.Conv2d(2 * channels + k + 3, hidden, 1), nn.GELU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU(),
            nn.Conv2d(hidden, hidden, 3, padding=2, dilation=2), nn.GELU())
        self.update = nn.Conv2d(hidden, 4, 1)  # gate, residual (2, px / stride), log-sigma
        self.up_mask = nn.Conv2d(hidden, 9 * stride * stride, 1)
        self.photo_gain = nn.Parameter(torch.tensor(1.0))
        self.photo_bias = nn.Parameter(torch.tensor(0.0))
        for layer in (self.update, self.up_mask):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, feat_cur: torch.Tensor, feat_ref: torch.Tensor, init_map: torch.Tensor,
                face: torch.Tensor, cur_gray: torch.Tensor, ref_gray: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        s, r = self.stride, self.radius
        height, width = init_map.shape[-2:]
        h, w = feat_cur.shape[-2:]
        init_lr = F.interpolate(init_map, size=(h, w), mode="bilinear", align_corners=False)
        warped = F.grid_sample(feat_ref, feature_grid(init_lr, s, h, w), mode="bilinear",
                               padding_mode="border", align_corners=False)
        q = self.query(feat_cur)
        keys = torch.stack(_shifts(self.key(warped), r, "replicate"), 1)  # (B, K, D, h, w)
        logits = (q.unsqueeze(1) * keys).sum(2)
        logits = logits * (self.scale * self.log_temperature.exp())
        attn = softmax_dim1(logits)  # (B, K, h, w)
        places = torch.stack(_shifts(init_lr, r, "replicate"), 1)  # (B, K, 2, h, w)
        attended = (attn.unsqueeze(2) * places).sum(1)
        pull = (attended - init_lr) / s  # in feature cells
        face_lr = F.interpolate(face, size=(h, w), mode="bilinear", align_corners=False)
        ctx = self.context(torch.cat([feat_cur, warped, logits, pull, face_lr], 1))
        upd = self.update(ctx)
        gate = upd[:, :1].clamp(0.0, 1.0)  # how far to follow the attention; starts at 0
        delta_lr = (gate * pull + upd[:, 1:3]) * s  # px
        delta = convex_upsample(delta_lr, self.up_mask(ctx), s)[:, :, :height, :width]
        out_map = init_map + delta
        return out_map, self._log_sigma(out_map, cur_gray, ref_gray, upd[:, 3:4])

    def _log_sigma(self, out_map: torch.Tensor, cur_gray: torch.Tensor, ref_gray: torch.Tensor,
                   coarse: torch.Tensor) -> torch.Tensor:
        """Photometric evidence (the mean |cur - ref(map)| over a 5x5 window: the Laplace
        scale's maximum-likelihood estimate; 1 where the map leaves the reference) plus the
        learned coarse term."""
        height, width = out_map.shape[-2:]
        grid = image_grid(out_map, height, width)
        warped = F.grid_sample(ref_gray, grid, mode="bilinear", padding_mode="border",
                               align_corners=False)
        inside = ((grid.abs() <= 1.0).all(-1, keepdim=True)).permute(0, 3, 1, 2).float()
        resid = inside * (cur_gray - warped).abs() + (1.0 - inside)
        local = F.avg_pool2d(resid, 5, 1, padding=2, count_include_pad=False)
        coarse = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
        return self.photo_gain * torch.log(local + 0.01) + self.photo_bias + coarse
