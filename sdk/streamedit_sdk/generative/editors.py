"""Text-prompt editing of the reference frame: InstructPix2Pix and ControlNet img2img.

Both take the reference (RGB uint8) and a prompt and return the edited reference at the same
size. The pipeline runs at ``DiffusionSettings.resolution`` (longest side, a multiple of 8);
its output is resized back. With a mask (True = may change) the edit is blended in with a
seam feathered inside the mask, so pixels outside it are exactly the reference's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from streamedit_sdk.frames import resize_to
from streamedit_sdk.generative.weights import (DiffusionSettings, load_pipeline, resolve,
                                               torch_device)

log = logging.getLogger(__name__)

FEATHER = 0.02  # seam width as a share of the frame's longest side
CONDITIONS = ("landmarks", "canny")


class PromptEditor(Protocol):
    """Edits a reference frame by a text prompt."""

    def edit(self, reference: np.ndarray, prompt: str, mask: np.ndarray | None = None,
             seed: int = 0) -> np.ndarray:
        """reference: (H, W, 3) RGB uint8; mask: (H, W) bool, True where the edit may change
        pixels (None: everywhere). Returns the edited (H, W, 3) RGB uint8; the same seed gives
        the same image."""

    def close(self) -> None: ...


def run_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """(width, height) with the longest side ``resolution`` and both multiples of 8."""
    scale = resolution / max(width, height)
    return (max(8, int(round(width * scale / 8)) * 8), max(8, int(round(height * scale / 8)) * 8))


def blend(reference: np.ndarray, edited: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``edited`` inside ``mask``, ``reference`` outside, feathered inside the mask's edge."""
    if mask is None:
        return edited
    if mask.shape != reference.shape[:2]:
        raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the reference is "
                         f"{reference.shape[1]}x{reference.shape[0]}")
    m = mask.astype(np.float32)
    sigma = max(1.0, FEATHER * max(mask.shape))
    alpha = np.minimum(m, cv2.GaussianBlur(m, (0, 0), sigma))[..., None]  # 0 outside the mask
    out = alpha * edited.astype(np.float32) + (1.0 - alpha) * reference.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class _DiffusionEditor:
    """What the two editors share: sizes, the seeded generator, blending, closing."""

    def __init__(self, settings: DiffusionSettings) -> None:
        self.settings = settings
        self._device, _ = torch_device(settings)
        self._pipe: Any = None

    def edit(self, reference: np.ndarray, prompt: str, mask: np.ndarray | None = None,
             seed: int = 0) -> np.ndarray:
        if reference.ndim != 3 or reference.shape[2] != 3 or reference.dtype != np.uint8:
            raise ValueError(f"reference must be (H, W, 3) uint8 RGB; got {reference.dtype} "
                             f"{reference.shape}")
        if not prompt or not prompt.strip():
            raise ValueError("the prompt is empty: say what the edit should do")
        import torch
        from PIL import Image

        h, w = reference.shape[:2]
        rw, rh = run_size(w, h, self.settings.resolution)
        small = resize_to(reference, rw, rh)
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        out = self._run(prompt, Image.fromarray(small), small, generator)
        edited = np.clip(out[0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return blend(reference, resize_to(edited, w, h), mask)

    def _run(self, prompt: str, image: Any, small: np.ndarray, generator: Any) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        self._pipe = None


class InstructPix2PixEditor(_DiffusionEditor):
    """InstructPix2Pix (``StableDiffusionInstructPix2PixPipeline``): the prompt is an
    instruction ("turn her jacket into a superman costume"). ``weights``: a pipeline folder or
    a cached Hugging Face id (``timbrooks/instruct-pix2pix``)."""

    def __init__(self, weights: str | Path, settings: DiffusionSettings | None = None) -> None:
        super().__init__(settings or DiffusionSettings())
        from diffusers import StableDiffusionInstructPix2PixPipeline

        folder = resolve(weights, "InstructPix2Pix weights", self.settings)
        self._pipe = load_pipeline(StableDiffusionInstructPix2PixPipeline, folder, self.settings)

    def _run(self, prompt, image, small, generator):
        s = self.settings
        return self._pipe(prompt, image=image, num_inference_steps=s.steps,
                          guidance_scale=s.guidance_scale,
                          image_guidance_scale=s.image_guidance_scale, generator=generator,
                          output_type="np").images


class ControlNetEditor(_DiffusionEditor):
    """Stable Diffusion img2img steered by a ControlNet on the reference's structure, so the
    mouth, eyes and pose stay: ``condition="landmarks"`` draws the face mesh (for a face-mesh
    ControlNet), ``"canny"`` gives Canny edges (for a canny ControlNet). The prompt describes
    the result ("a portrait in a superman costume")."""

    def __init__(self, weights: str | Path, controlnet: str | Path,
                 condition: str = "canny", settings: DiffusionSettings | None = None) -> None:
        super().__init__(settings or DiffusionSettings())
        if condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}; got "
                             f"{condition!r}")
        from diffusers import ControlNetModel, StableDiffusionControlNetImg2ImgPipeline

        self.condition = condition
        base = resolve(weights, "Stable Diffusion weights", self.settings)
        cn_folder = resolve(controlnet, "ControlNet weights", self.settings, pipeline=False)
        _, dtype = torch_device(self.settings)
        try:
            net = ControlNetModel.from_pretrained(cn_folder, torch_dtype=dtype,
                                                  local_files_only=True)
        except (OSError, ValueError) as exc:
            from streamedit_sdk.generative.weights import WeightsError
            raise WeightsError(f"cannot load the ControlNet from {cn_folder}: {exc}") from exc
        self._pipe = load_pipeline(StableDiffusionControlNetImg2ImgPipeline, base,
                                   self.settings, controlnet=net)

    def control_image(self, small: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 condition image of the run-size reference."""
        if self.condition == "canny":
            gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
            edges = cv2.Canny(gray, 100, 200)
            return np.repeat(edges[..., None], 3, axis=2)
        return landmark_drawing(small)

    def _run(self, prompt, image, small, generator):
        from PIL import Image

        s = self.settings
        return self._pipe(prompt, image=image,
                          control_image=Image.fromarray(self.control_image(small)),
                          strength=s.strength, num_inference_steps=s.steps,
                          guidance_scale=s.guidance_scale, generator=generator,
                          output_type="np").images


def landmark_drawing(rgb: np.ndarray) -> np.ndarray:
    """The face mesh's triangles drawn white on black at ``rgb``'s size (black without a
    face): the condition image of face-mesh ControlNets."""
    from streamedit_sdk.perception.landmarks import LandmarkTracker, WarpMesh

    h, w = rgb.shape[:2]
    canvas = np.zeros((h, w, 3), np.uint8)
    with LandmarkTracker() as tracker:
        landmarks = tracker.detect(rgb)
    if landmarks is None:
        log.warning("no face found for the landmark condition image: it is empty")
        return canvas
    mesh = WarpMesh.build(landmarks, w, h)
    n = len(landmarks)
    pts = np.round(landmarks).astype(np.int32)
    for tri in mesh.triangles:
        if (tri < n).all():  # face triangles only, not the frame anchors
            cv2.polylines(canvas, [pts[tri]], True, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas
