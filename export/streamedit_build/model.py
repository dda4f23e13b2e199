"""PPCE = backbone + head, its configuration, and checkpoints."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .backbones import Backbone, PortraitBackbone
from .dinov2 import DinoV2Small, load_dinov2_weights
from .head import PPCEHead

BACKBONES = ("portrait", "dinov2_vits14")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one PPCE model (stored in every checkpoint and in the exported
    ``model.json``)."""

    backbone: str = "portrait"  # "portrait" (built-in) or "dinov2_vits14" (the paper's)
    channels: int = 32  # built-in backbone width (DINOv2: fixed at 384)
    stride: int = 4  # built-in backbone stride in px (DINOv2: 14)
    radius: int = 2  # attention window half-size, feature cells
    hidden: int = 48  # context network width
    init_preset: str = "fast"  # DIS preset refining the landmark map into the initial map
    init_lk: int = 3  # Lucas-Kanade steps refining the DIS map (work size) in the initial map
    side: int = 256  # longest side (px) of the frame the network sees (work frames are resized)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.init_preset not in ("none", "ultrafast", "fast", "medium"):
            raise ValueError(f"init_preset must be none, ultrafast, fast or medium, got "
                             f"{self.init_preset!r}")
        for name in ("channels", "radius", "hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")


def build_backbone(config: ModelConfig, dinov2_weights: str | Path | None = None) -> Backbone:
    if config.backbone == "dinov2_vits14":
        net = DinoV2Small()
        if dinov2_weights is not None:
            load_dinov2_weights(net, dinov2_weights)
        return net
    return PortraitBackbone(config.channels, config.stride)


class PPCE(nn.Module):
    """The whole network for training: images in, map and log-sigma out."""

    def __init__(self, config: ModelConfig, dinov2_weights: str | Path | None = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config, dinov2_weights)
        self.head = PPCEHead(self.backbone.channels, self.backbone.stride, config.radius,
                             config.hidden)

    def forward(self, cur: torch.Tensor, ref: torch.Tensor, init_map: torch.Tensor,
                face: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cur, ref: (B, 3, H, W) RGB 0..1; init_map: (B, 2, H, W) ref px; face: (B, 1, H, W).
        Returns map (B, 2, H, W) ref px and log_sigma (B, 1, H, W)."""
        feats = self.backbone(torch.cat([cur, ref]))
        f_cur, f_ref = feats.chunk(2)
        return self.head(f_cur, f_ref, init_map, face, luminance(cur), luminance(ref))


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W), BT.601 weights (as cv2.COLOR_RGB2GRAY)."""
    return 0.299 * rgb[:, :1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3]


def save_checkpoint(path: Path, model: PPCE, optimizer: torch.optim.Optimizer | None,
                    step: int, extra: dict) -> None:
    """Atomic write (a crash never leaves half a checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": dataclasses.asdict(model.config), "model": model.state_dict(),
                "optimizer": optimizer.state_dict() if optimizer is not None else None,
                "step": step, "extra": extra}, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path) -> tuple[PPCE, dict]:
    """(model, the whole checkpoint dict). A missing or foreign file is a clear error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist (train one with "
                                "`streamedit train`)")
    not_ours = (f"{path} is not a StreamEdit PPCE checkpoint (make one with `streamedit "
                "train` or `streamedit fit`)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, AttributeError,
            ModuleNotFoundError) as exc:  # not a torch file, truncated, or foreign classes
        raise ValueError(f"{not_ours}: {type(exc).__name__}") from exc
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise ValueError(not_ours)
    model = PPCE(ModelConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model, ckpt
