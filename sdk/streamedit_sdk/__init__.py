"""StreamEdit SDK: carry an edit of one portrait frame onto every later frame of a video.

The runtime imports no torch: numpy, OpenCV, MediaPipe and the compiled kernels
(``streamedit_sdk.kernels``) are all it needs. Start with :class:`StreamEditor`. Frames are RGB uint8 (H, W, 3) arrays unless a function says otherwise.
"""

import logging

from streamedit_sdk import kernels
from streamedit_sdk.config import EditorConfig, FaceLead, ReplacementConfig, Visibility
from streamedit_sdk.core.editor import EditorStats, EditResult, StreamEditor
from streamedit_sdk.errors import NoFaceError

__version__ = "0.1.0"
__all__ = ["StreamEditor", "EditorConfig", "ReplacementConfig", "FaceLead", "Visibility",
           "EditResult", "EditorStats",
           "NoFaceError", "kernels", "__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
