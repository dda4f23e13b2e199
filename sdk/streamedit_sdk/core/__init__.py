"""The engine: the :class:`StreamEditor` sequencer, its model operations (:mod:`.ops`), what it
observes on a frame (:mod:`.observe`), the reference lifecycle (:mod:`.references`,
:mod:`.builder`), the replacement decision (:mod:`.policy`) and inpainting (:mod:`.inpaint`)."""
