"""Tiny, randomly initialised Stable Diffusion pipelines for tests (no weights to download).

Every component is the real diffusers / transformers class, a few thousand parameters wide:
a UNet, a VAE (2x down), a CLIP text encoder and a CLIP tokenizer whose vocabulary (the
letters) and merges are written here. They are saved with ``save_pretrained`` so tests load
them back through the SDK's loading code, as a user's folder would be.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import (AutoencoderKL, ControlNetModel, DDIMScheduler,
                       StableDiffusionControlNetImg2ImgPipeline, StableDiffusionInpaintPipeline,
                       StableDiffusionInstructPix2PixPipeline, UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

WIDTH = 16  # cross-attention width of the text encoder and the UNet


def tokenizer(folder: Path) -> CLIPTokenizer:
    """A CLIP BPE tokenizer over lower-case letters, digits and a few signs (no merges)."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for s in symbols:
        vocab.setdefault(s, len(vocab))
        vocab.setdefault(s + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                         model_max_length=16)


def _parts(in_channels: int, scratch: Path) -> dict:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=in_channels, out_channels=4, layers_per_block=1,
        block_out_channels=(8, 16), norm_num_groups=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=WIDTH, attention_head_dim=2)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
        norm_num_groups=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"))
    text = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=WIDTH, intermediate_size=32,
        num_attention_heads=2, num_hidden_layers=1, vocab_size=128,
        max_position_embeddings=16))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012,
                              beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    return dict(vae=vae, text_encoder=text, tokenizer=tokenizer(scratch / "tok"), unet=unet,
                scheduler=scheduler, safety_checker=None, feature_extractor=None,
                requires_safety_checker=False)


def save_instruct_pix2pix(folder: Path) -> Path:
    """InstructPix2Pix: the UNet sees the noisy latents and the image latents (8 channels)."""
    StableDiffusionInstructPix2PixPipeline(**_parts(8, folder.parent)).save_pretrained(folder)
    return folder


def save_inpaint(folder: Path) -> Path:
    """Inpainting: latents, the mask and the masked image latents (9 channels)."""
    StableDiffusionInpaintPipeline(**_parts(9, folder.parent)).save_pretrained(folder)
    return folder


def save_controlnet(base: Path, controlnet: Path) -> tuple[Path, Path]:
    """A Stable Diffusion folder and a ControlNet folder (condition image 2x down, as the VAE)."""
    parts = _parts(4, base.parent)
    torch.manual_seed(1)
    net = ControlNetModel(
        in_channels=4, block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), cross_attention_dim=WIDTH,
        attention_head_dim=2, conditioning_embedding_out_channels=(4, 8))
    StableDiffusionControlNetImg2ImgPipeline(controlnet=net, **parts).save_pretrained(base)
    net.save_pretrained(controlnet)
    return base, controlnet
