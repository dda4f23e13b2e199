"""A prompt edit as ``streamedit edit --prompt`` describes it: checked before any decoding."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streamedit_sdk.generative.editors import (CONDITIONS, ControlNetEditor, InstructPix2PixEditor,
                                               PromptEditor)
from streamedit_sdk.generative.regions import REGIONS, region_mask
from streamedit_sdk.generative.weights import DiffusionSettings

EDITORS = ("ip2p", "controlnet")


@dataclass(frozen=True)
class PromptEdit:
    """The reference edited by a text prompt, and optionally inpainted with it at ARR."""

    prompt: str  # the instruction (ip2p) or the description of the result (controlnet)
    weights: str  # pipeline folder or cached Hugging Face id of the editor's Stable Diffusion
    editor: str = "ip2p"  # ip2p: InstructPix2Pix; controlnet: ControlNet img2img
    controlnet: str | None = None  # ControlNet folder or id (editor="controlnet")
    condition: str = "canny"  # ControlNet condition: canny edges or the face-mesh drawing
    region: str = "all"  # where the edit may change pixels: person, face or all
    seed: int = 0  # the same seed gives the same edit
    inpaint_weights: str | None = None  # inpainting pipeline for ARR; None: OpenCV fill
    settings: DiffusionSettings = field(default_factory=DiffusionSettings)

    def __post_init__(self) -> None:
        if not self.prompt or not self.prompt.strip():
            raise ValueError("the prompt is empty: say what the edit should do")
        if self.editor not in EDITORS:
            raise ValueError(f"editor must be one of {', '.join(EDITORS)}; got {self.editor!r}")
        if self.editor == "controlnet" and self.controlnet is None:
            raise ValueError("the controlnet editor needs ControlNet weights: pass "
                             "--controlnet-dir DIR (a diffusers ControlNet folder or a cached "
                             "Hugging Face id, e.g. lllyasviel/sd-controlnet-canny)")
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}; got "
                             f"{self.condition!r}")
        if self.region not in REGIONS:
            raise ValueError(f"edit region must be one of {', '.join(REGIONS)}; got "
                             f"{self.region!r}")

    def make_editor(self) -> PromptEditor:
        if self.editor == "controlnet":
            return ControlNetEditor(self.weights, self.controlnet, self.condition,
                                    self.settings)
        return InstructPix2PixEditor(self.weights, self.settings)

    def apply(self, reference: np.ndarray) -> np.ndarray:
        """The edited reference (H, W, 3) RGB uint8, like ``reference``."""
        mask = region_mask(reference, self.region)
        editor = self.make_editor()
        try:
            return editor.edit(reference, self.prompt, mask=mask, seed=self.seed)
        finally:
            editor.close()

    def inpainter(self):
        """The diffusion inpainter for reference replacement, or None (OpenCV fill)."""
        if self.inpaint_weights is None:
            return None
        from streamedit_sdk.generative.inpainter import DiffusionInpainter

        return DiffusionInpainter(self.inpaint_weights, self.prompt, self.settings, self.seed)
