"""StreamEdit SDK: carry an edit of one portrait frame onto every later frame of a video.

The runtime imports no torch: numpy, OpenCV, MediaPipe and the compiled kernels
(``streamedit_sdk.kernels``) are all it needs. Start with :class:`StreamEditor`. Frames are RGB uint8 (H, W, 3) arrays unless a function says otherwise.
"""

import logging

from . import kernels
from .config import EditorConfig, ReplacementConfig
from .editor import EditorStats, EditResult, NoFaceError, StreamEditor

__version__ = "0.1.0"
__all__ = ["StreamEditor", "EditorConfig", "ReplacementConfig", "EditResult", "EditorStats",
           "NoFaceError", "kernels", "__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
