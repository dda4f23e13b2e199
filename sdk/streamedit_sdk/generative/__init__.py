"""Text-prompt editing of the reference and generative inpainting, with diffusers.

Optional: needs ``pip install 'streamedit-sdk[diffusion]'`` (diffusers, transformers,
accelerate) and torch; nothing here is imported by ``import streamedit_sdk``. Weights are the
user's own (a diffusers folder, or a Hugging Face id already in the local cache); nothing is
downloaded unless ``DiffusionSettings(allow_download=True)``.

>>> editor = InstructPix2PixEditor("~/models/instruct-pix2pix")
>>> edited = editor.edit(frame, "turn her jacket into a superman costume",
...                      mask=region_mask(frame, "person"), seed=7)
"""

from streamedit_sdk.generative.editors import (CONDITIONS, ControlNetEditor, InstructPix2PixEditor,
                                               PromptEditor, blend, landmark_drawing)
from streamedit_sdk.generative.inpainter import DiffusionInpainter
from streamedit_sdk.generative.regions import REGIONS, region_mask
from streamedit_sdk.generative.spec import EDITORS, PromptEdit
from streamedit_sdk.generative.weights import DiffusionSettings, WeightsError

__all__ = ["CONDITIONS", "EDITORS", "REGIONS", "ControlNetEditor", "DiffusionInpainter",
           "DiffusionSettings", "InstructPix2PixEditor", "PromptEdit", "PromptEditor", "WeightsError",
           "blend", "landmark_drawing", "region_mask"]
