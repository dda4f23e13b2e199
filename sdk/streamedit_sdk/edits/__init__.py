"""Edits that need no model weights: styles applied to the reference, stickers pinned to a face."""

from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.edits.sticker import (STICKER_PLACES, default_sticker, load_sticker,
                                          place_sticker)
from streamedit_sdk.edits.styles import STYLES, apply_style, style

__all__ = ["EditSpec", "STYLES", "STICKER_PLACES", "apply_style", "default_sticker", "load_sticker",
           "place_sticker", "style"]
