"""Generative inpainting at reference replacement (paper §3.3): Stable Diffusion inpainting
paints, with the edit's prompt, what the old reference could not see."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from streamedit_sdk.frames import resize_to
from streamedit_sdk.generative.editors import blend, run_size
from streamedit_sdk.generative.weights import DiffusionSettings, load_pipeline, resolve
from streamedit_sdk.sides.host import HostOps

log = logging.getLogger(__name__)


class DiffusionInpainter:
    """:class:`~streamedit_sdk.core.inpaint.EditInpainter` backed by
    ``StableDiffusionInpaintPipeline``.

    At a replacement the new reference's edited version (frame + carried edit) is inpainted
    over the uncertain pixels with ``prompt``, and blended in with a seam feathered inside the
    mask: pixels outside the mask keep the carried edit exactly. ``weights``: an inpainting
    pipeline folder or a cached Hugging Face id (``stable-diffusion-v1-5/...-inpainting``).
    ``min_pixels``: smaller masks are left to the classical fill (a few pixels of seam are not
    worth a diffusion run). Each call takes seconds on a GPU (minutes on a CPU), once per
    replacement.
    """

    def __init__(self, weights: str | Path, prompt: str,
                 settings: DiffusionSettings | None = None, seed: int = 0,
                 min_pixels: int = 64) -> None:
        from diffusers import StableDiffusionInpaintPipeline

        if not prompt or not prompt.strip():
            raise ValueError("the inpainting prompt is empty: give the edit's prompt")
        self.settings = settings or DiffusionSettings()
        self.prompt = prompt
        self.seed = seed
        self.min_pixels = min_pixels
        self.calls = 0  # diffusion runs so far
        folder = resolve(weights, "inpainting weights", self.settings)
        self._pipe = load_pipeline(StableDiffusionInpaintPipeline, folder, self.settings)

    def fill(self, frame: np.ndarray, delta: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if int(mask.sum()) < self.min_pixels:
            return delta
        import torch
        from PIL import Image

        h, w = frame.shape[:2]
        edited = HostOps().add_delta(frame, delta)
        rw, rh = run_size(w, h, self.settings.resolution)
        image = Image.fromarray(resize_to(edited, rw, rh))
        small_mask = resize_to(mask.astype(np.uint8) * np.uint8(255), rw, rh)
        s = self.settings
        out = self._pipe(self.prompt, image=image, mask_image=Image.fromarray(small_mask),
                         height=rh, width=rw, strength=s.strength, num_inference_steps=s.steps,
                         guidance_scale=s.guidance_scale,
                         generator=torch.Generator(device="cpu").manual_seed(self.seed),
                         output_type="np").images[0]
        self.calls += 1
        painted = resize_to(np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8), w, h)
        filled = blend(edited, painted, mask)
        out_delta = delta.copy()
        out_delta[mask] = filled[mask].astype(np.float32) - frame[mask].astype(np.float32)
        log.info("inpainted %d px of the new reference with the prompt", int(mask.sum()))
        return out_delta

    def close(self) -> None:
        self._pipe = None
