"""Training losses (paper eq. 2-3 plus what keeps a small model from collapsing).

All maps are (B, 2, H, W) absolute reference px; images (B, 3, H, W) RGB 0..1; log_sigma
(B, 1, H, W) natural log of the Laplace scale of the intensity error; ``valid`` (B, 1, H, W)
1 where a pixel counts.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .head import image_grid

LOG_SIGMA_MIN = math.log(0.003)  # sigma below a grey level's share of 0..1 is noise, not signal


def warp(ref: torch.Tensor, map_px: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``ref`` sampled at ``map_px`` (bilinear) and (B, 1, H, W) 1 where the map stays inside."""
    h, w = ref.shape[-2:]
    grid = image_grid(map_px, h, w)
    out = F.grid_sample(ref, grid, mode="bilinear", padding_mode="border", align_corners=False)
    inside = (grid.abs() <= 1.0).all(-1).unsqueeze(1).float()
    return out, inside


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def residual(cur: torch.Tensor, ref: torch.Tensor, map_px: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel |cur - ref(map)| averaged over channels (B, 1, H, W), and the inside mask."""
    warped, inside = warp(ref, map_px)
    return (cur - warped).abs().mean(1, keepdim=True), inside


def laplace_nll(resid: torch.Tensor, log_sigma: torch.Tensor, valid: torch.Tensor
                ) -> torch.Tensor:
    """Paper eq. 2: |y - y_hat| / sigma + log sigma (the Laplace negative log-likelihood up to a
    constant), averaged over valid pixels."""
    ls = log_sigma.clamp(min=LOG_SIGMA_MIN)
    return _masked_mean(resid / ls.exp() + ls, valid)


def reconstruction(resid: torch.Tensor, valid: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Paper eq. 3's reconstruction of the current frame from the warped reference
    (Charbonnier-smoothed L1)."""
    return _masked_mean(torch.sqrt(resid * resid + eps * eps), valid)


def smoothness(delta: torch.Tensor, image: torch.Tensor, scale: float = 10.0) -> torch.Tensor:
    """Edge-aware first-order smoothness of the learned correction ``delta`` (B, 2, H, W) px:
    allowed to change where the image has edges."""
    dx = (delta[..., :, 1:] - delta[..., :, :-1]).abs().sum(1, keepdim=True)
    dy = (delta[..., 1:, :] - delta[..., :-1, :]).abs().sum(1, keepdim=True)
    gx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
    gy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
    return (dx * torch.exp(-scale * gx)).mean() + (dy * torch.exp(-scale * gy)).mean()


def end_point_error(map_px: torch.Tensor, true_px: torch.Tensor, valid: torch.Tensor
                    ) -> torch.Tensor:
    """Mean Euclidean distance (px) between predicted and true maps over valid pixels."""
    err = torch.sqrt(((map_px - true_px) ** 2).sum(1, keepdim=True) + 1e-6)
    return _masked_mean(err, valid)
