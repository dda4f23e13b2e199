"""DINOv2 ViT-S/14 (the paper's backbone), with the user's own weights from a local path.

Architecture as published (Oquab et al. 2023): 14x14 patch embedding, a class token, learned
position embeddings for a 37x37 grid (518 px) interpolated bicubically to any input size,
12 pre-norm blocks (6 heads, MLP ratio 4, LayerScale), a final LayerNorm. The patch tokens,
(B, 384, ceil(H/14), ceil(W/14)), are the feature map (the input is padded to a multiple of 14).

Weights, in either official format (nothing is downloaded, ever):
- the torch hub checkpoint ``dinov2_vits14_pretrain.pth`` (a state dict: ``blocks.0.attn.qkv``);
- a Hugging Face ``facebook/dinov2-small`` folder holding ``model.safetensors`` (keys
  ``encoder.layer.0.attention.attention.query``; separate q/k/v are joined).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .backbones import Backbone

DIM, DEPTH, HEADS, PATCH, GRID = 384, 12, 6, 14, 37
_MEAN = (0.485, 0.456, 0.406)  # ImageNet normalisation, as DINOv2 was trained
_STD = (0.229, 0.224, 0.225)


class _Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, HEADS, DIM // HEADS).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1)) * (DIM // HEADS) ** -0.5
        out = attn.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, DIM))


class _Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(DIM, 4 * DIM)
        self.fc2 = nn.Linear(4 * DIM, DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _LayerScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((DIM,), 1e-5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(DIM, eps=1e-6)
        self.attn = _Attention()
        self.ls1 = _LayerScale()
        self.norm2 = nn.LayerNorm(DIM, eps=1e-6)
        self.mlp = _Mlp()
        self.ls2 = _LayerScale()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class _PatchEmbed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, DIM, PATCH, PATCH)


class DinoV2Small(Backbone):
    """ViT-S/14 patch features. forward: (B, 3, H, W) RGB 0..1 -> (B, 384, ceil(H/14), ...)."""

    name = "dinov2_vits14"
    channels = DIM
    stride = PATCH

    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + GRID * GRID, DIM))
        self.mask_token = nn.Parameter(torch.zeros(1, DIM))  # unused at inference; kept for keys
        self.patch_embed = _PatchEmbed()
        self.blocks = nn.ModuleList(_Block() for _ in range(DEPTH))
        self.norm = nn.LayerNorm(DIM, eps=1e-6)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def _positions(self, gh: int, gw: int) -> torch.Tensor:
        cls_pos, grid = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        grid = grid.reshape(1, GRID, GRID, DIM).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([cls_pos, grid.flatten(2).transpose(1, 2)], 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        x = (image - self.mean) / self.std
        x = F.pad(x, (0, (-w) % PATCH, 0, (-h) % PATCH), mode="replicate")
        x = self.patch_embed.proj(x)
        b, _, gh, gw = x.shape
        x = torch.cat([self.cls_token.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], 1)
        x = x + self._positions(gh, gw)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)[:, 1:]
        return x.transpose(1, 2).reshape(b, DIM, gh, gw)


class WeightsError(ValueError):
    """A weights file is missing, unreadable or does not fit the architecture."""


def load_dinov2_weights(model: DinoV2Small, path: str | Path) -> None:
    """Load ``path`` (a hub ``.pth`` state dict, a ``.safetensors`` file or a Hugging Face
    folder holding ``model.safetensors``) into ``model``; strict: every key must match."""
    state = _read_state(Path(path))
    if any(k.startswith(("embeddings.", "encoder.", "dinov2.")) for k in state):
        state = _from_hugging_face(state, Path(path))
    state = {k: v for k, v in state.items() if not k.startswith("register_tokens")}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise WeightsError(
            f"{path} does not hold DINOv2 ViT-S/14 weights: missing keys {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''} (expected the torch hub "
            "dinov2_vits14_pretrain.pth or a facebook/dinov2-small folder)")
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise WeightsError(f"{path}: {k} has shape {tuple(v.shape)}, ViT-S/14 needs "
                               f"{tuple(expected[k].shape)} (is it another DINOv2 size?)")
    model.load_state_dict(state)


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.exists():
        raise WeightsError(f"DINOv2 weights not found: {path} does not exist (give the torch "
                           "hub dinov2_vits14_pretrain.pth or a facebook/dinov2-small folder "
                           "with model.safetensors; nothing is downloaded)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise WeightsError(f"cannot read DINOv2 weights {path}: {exc}") from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def _from_hugging_face(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """Rename a Hugging Face Dinov2Model state dict to the torch hub names."""
    state = {k.removeprefix("dinov2."): v for k, v in state.items()}
    out = {"cls_token": state.pop("embeddings.cls_token", None),
           "pos_embed": state.pop("embeddings.position_embeddings", None),
           "mask_token": state.pop("embeddings.mask_token", None),
           "patch_embed.proj.weight": state.pop("embeddings.patch_embeddings.projection.weight",
                                                None),
           "patch_embed.proj.bias": state.pop("embeddings.patch_embeddings.projection.bias",
                                              None),
           "norm.weight": state.pop("layernorm.weight", None),
           "norm.bias": state.pop("layernorm.bias", None)}
    if out["mask_token"] is not None and out["mask_token"].dim() == 3:
        out["mask_token"] = out["mask_token"][0]
    for i in range(DEPTH):
        hf, hub = f"encoder.layer.{i}.", f"blocks.{i}."
        qkv = [state.pop(f"{hf}attention.attention.{n}.{p}", None)
               for p in ("weight", "bias") for n in ("query", "key", "value")]
        out[hub + "attn.qkv.weight"] = None if None in qkv[:3] else torch.cat(qkv[:3])
        out[hub + "attn.qkv.bias"] = None if None in qkv[3:] else torch.cat(qkv[3:])
        pairs = {"attention.output.dense": "attn.proj", "norm1": "norm1", "norm2": "norm2",
                 "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2"}
        for a, b in pairs.items():
            for p in ("weight", "bias"):
                out[f"{hub}{b}.{p}"] = state.pop(f"{hf}{a}.{p}", None)
        out[hub + "ls1.gamma"] = state.pop(f"{hf}layer_scale1.lambda1", None)
        out[hub + "ls2.gamma"] = state.pop(f"{hf}layer_scale2.lambda1", None)
    absent = [k for k, v in out.items() if v is None]
    if absent:
        raise WeightsError(f"{path}: Hugging Face DINOv2 folder lacks the tensors for "
                           f"{absent[:5]}{' ...' if len(absent) > 5 else ''}")
    out.update({k: v for k, v in state.items() if not k.startswith(("embeddings.", "encoder."))})
    return out


def to_hugging_face(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse rename (hub -> Hugging Face names): tests write a folder in that format."""
    out = {"embeddings.cls_token": state["cls_token"],
           "embeddings.position_embeddings": state["pos_embed"],
           "embeddings.mask_token": state["mask_token"],
           "embeddings.patch_embeddings.projection.weight": state["patch_embed.proj.weight"],
           "embeddings.patch_embeddings.projection.bias": state["patch_embed.proj.bias"],
           "layernorm.weight": state["norm.weight"], "layernorm.bias": state["norm.bias"]}
    for i in range(DEPTH):
        hf, hub = f"encoder.layer.{i}.", f"blocks.{i}."
        for p in ("weight", "bias"):
            q, k, v = state[f"{hub}attn.qkv.{p}"].chunk(3)
            out[f"{hf}attention.attention.query.{p}"] = q
            out[f"{hf}attention.attention.key.{p}"] = k
            out[f"{hf}attention.attention.value.{p}"] = v
            for a, b in {"attention.output.dense": "attn.proj", "norm1": "norm1",
                         "norm2": "norm2", "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2"}.items():
                out[f"{hf}{a}.{p}"] = state[f"{hub}{b}.{p}"]
        out[f"{hf}layer_scale1.lambda1"] = state[hub + "ls1.gamma"]
        out[f"{hf}layer_scale2.lambda1"] = state[hub + "ls2.gamma"]
    return {k: v.contiguous() for k, v in out.items()}
