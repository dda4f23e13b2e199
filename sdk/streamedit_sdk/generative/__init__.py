"""Text-prompt editing of the reference and generative inpainting, with diffusers.

Optional: needs ``pip install 'streamedit-sdk[diffusion]'`` (diffusers, transformers,
accelerate) and torch; nothing here is imported by ``import streamedit_sdk``. Weights are the
user's own (a diffusers folder, or a Hugging Face id already in the local cache); nothing is
downloaded unless ``DiffusionSettings(allow_download=True)``.

>>> editor = InstructPix2PixEditor("~/models/instruct-pix2pix")
>>> edited = editor.edit(frame, "turn her jacket into a superman costume",
...                      mask=region_mask(frame, "person"), seed=7)
"""

from .editors import (CONDITIONS, ControlNetEditor, InstructPix2PixEditor, PromptEditor,
                      blend, landmark_drawing)
from .inpainter import DiffusionInpainter
from .regions import REGIONS, region_mask
from .spec import EDITORS, PromptEdit
from .weights import DiffusionSettings, WeightsError

__all__ = ["CONDITIONS", "EDITORS", "REGIONS", "ControlNetEditor", "DiffusionInpainter",
           "DiffusionSettings", "InstructPix2PixEditor", "PromptEdit", "PromptEditor", "WeightsError",
           "blend", "landmark_drawing", "region_mask"]
