"""Which edit the user asked for, as one checked value (file editing and live streams)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from streamedit_sdk.core.inpaint import EditInpainter
from streamedit_sdk.edits.fill import StyleFill
from streamedit_sdk.edits.modes import ModeChoice, measured_mode
from streamedit_sdk.edits.sticker import (STICKER_PLACES, default_sticker, load_sticker,
                                          place_sticker)
from streamedit_sdk.edits.styles import apply_style, style
from streamedit_sdk.errors import NoFaceError
from streamedit_sdk.frames import looks_red_blue_swapped, red_blue_matches
from streamedit_sdk.io.images import check_image, read_edited
from streamedit_sdk.perception.landmarks import LandmarkTracker

if TYPE_CHECKING:  # diffusers and torch load only when a prompt edit is made
    from streamedit_sdk.generative.spec import PromptEdit


@dataclass(frozen=True)
class EditSpec:
    """Which edit to make on the reference frame: exactly one of the four sources.

    edited_ref: image file with the edited reference (same size as the frames); one with an
        alpha channel is a layer over the reference frame (transparent = unchanged).
    style: name of a built-in style (:data:`streamedit_sdk.edits.STYLES`).
    sticker: image file (RGBA PNG best) or "star" for the built-in sticker.
    sticker_at: face region for the sticker (:data:`streamedit_sdk.edits.STICKER_PLACES`).
    prompt: a text-prompt edit with diffusers (:class:`streamedit_sdk.generative.PromptEdit`).
    check_colours: refuse an edited reference whose unedited pixels match the frame only with
        red and blue swapped (False: take a deliberate swap as it is).
    """

    edited_ref: Path | None = None
    style: str | None = None
    sticker: str | None = None
    sticker_at: str = "cheek"
    prompt: PromptEdit | None = None
    check_colours: bool = True

    def __post_init__(self) -> None:
        given = [x for x in (self.edited_ref, self.style, self.sticker, self.prompt)
                 if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one edit: an edited reference image, a style, a "
                             "sticker or a prompt")
        if self.style is not None:
            style(self.style)  # unknown names fail here, before any video is decoded
        if self.sticker_at not in STICKER_PLACES:
            raise ValueError(f"unknown sticker place {self.sticker_at!r}: choose one of "
                             f"{', '.join(STICKER_PLACES)}")

    def check_files(self) -> None:
        """Read the images this edit names now (a sticker file, an edited reference), so a
        request naming a missing or non-image file is refused before it is accepted.
        Raises ``FileNotFoundError`` or ``ValueError`` with the reason."""
        if self.sticker is not None and self.sticker != "star":
            load_sticker(self.sticker)
        if self.edited_ref is not None:
            check_image(self.edited_ref, "edited reference")

    @property
    def default_mode(self) -> str:
        """The propagation mode this kind of edit wants before it is made: a sticker is a
        local edit, and carrying its difference keeps the rest of the face live (mouths open,
        eyes blink); a style carries the pixels; an edited frame or a prompt edit is measured
        once made (:meth:`mode_for`), replace until then."""
        return "residual" if self.sticker is not None else "replace"

    def inpainter(self) -> EditInpainter | None:
        """What fills a new reference's unseen content with this edit at a replacement: the
        style itself for a built-in style (:class:`~.fill.StyleFill`), the prompt's inpainter
        when it names inpainting weights; None: the editor's default (the carried edit
        inpainted)."""
        if self.style is not None:
            return StyleFill(self.style)
        if self.prompt is not None:
            return self.prompt.inpainter()
        return None

    def mode_for(self, reference: np.ndarray, edited: np.ndarray) -> ModeChoice:
        """The propagation mode of this edit, made: ``edited`` of ``reference`` (both (H, W, 3)
        uint8). A sticker is residual, a style replace; an edited frame or a prompt edit is
        residual when it changes a small part of the picture (strokes, a drawn moustache, a
        hat) and replace when it changes the whole look (:mod:`~streamedit_sdk.edits.modes`).
        """
        if self.sticker is not None:
            return ModeChoice("residual", "a sticker is drawn on the live face")
        if self.style is not None:
            return ModeChoice("replace", "a style changes the whole look")
        return measured_mode(reference, edited)

    @property
    def label(self) -> str:
        """A few words for people: ``style cartoon``, ``star sticker on the cheek``,
        ``prompt "..."``, ``edited frame``."""
        if self.style is not None:
            return f"style {self.style}"
        if self.sticker is not None:
            name = "star" if self.sticker == "star" else Path(self.sticker).name
            return f"{name} sticker on the {self.sticker_at.replace('-', ' ')}"
        if self.prompt is not None:
            text = self.prompt.prompt
            return f'prompt "{text[:40]}{"..." if len(text) > 40 else ""}"'
        return "edited frame"

    @property
    def needs_face(self) -> bool:
        """Whether the reference frame must show a face: a sticker is pinned to one; a style,
        an edited frame or a prompt edit the whole frame and travel by optical flow where
        there is no face."""
        return self.sticker is not None

    def apply(self, reference: np.ndarray, tracker: LandmarkTracker | None = None
              ) -> np.ndarray:
        """The edited reference, RGB uint8 like ``reference``. ``tracker``: a face mesh to
        place a sticker with (a live stream trying frame after frame until a face shows
        passes one, rather than loading a new mesh per frame); None: one is made here."""
        if self.prompt is not None:
            return self.prompt.apply(reference)
        if self.style is not None:
            return apply_style(self.style, reference)
        if self.sticker is not None:
            sticker = (default_sticker() if self.sticker == "star"
                       else load_sticker(self.sticker))
            if tracker is not None:
                landmarks = tracker.detect(reference)
            else:
                with LandmarkTracker() as own:
                    landmarks = own.detect(reference)
            if landmarks is None:
                raise NoFaceError("no face found in the reference frame to pin the sticker on: "
                                  "pick a frame that shows the face (--ref-frame N)")
            edited = place_sticker(reference, landmarks, sticker, self.sticker_at)
            if np.array_equal(edited, reference):
                raise ValueError(f"the sticker {self.sticker} changes no pixel of the reference "
                                 "frame (it lands outside the frame): pick a frame where the "
                                 "face is fully in view (--ref-frame N)")
            return edited
        edited = read_edited(self.edited_ref, reference)
        shares = red_blue_matches(reference, edited)
        if self.check_colours and looks_red_blue_swapped(reference, edited):
            raise ValueError(
                f"edited reference {self.edited_ref} looks like the frame with red and blue "
                f"swapped: {shares[1]:.0%} of its coloured pixels match the frame swapped, "
                f"{shares[0]:.0%} as they are. It was probably saved from an RGB array with "
                "cv2.imwrite, which expects BGR: save cv2.cvtColor(img, cv2.COLOR_RGB2BGR) "
                "instead (or the image with another tool); if the swap is your edit, pass "
                "--keep-colours")
        return edited
