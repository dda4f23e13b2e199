"""``streamedit serve``: the edit on a live browser camera over WebRTC, one editor per stream.

An aiohttp server (:mod:`.server`) answers the page's WebRTC offer with aiortc; each
connection gets a :class:`~.session.StreamSession`: its own :class:`~streamedit_sdk.StreamEditor`
on its own thread, driven by the live loop of ``streamedit stream``
(:class:`~streamedit_sdk.apps.stream.StreamRunner`, drop policy: a slow stream drops its own
frames, counted, and never delays another). Needs the ``serve`` extra (aiohttp, aiortc).
"""

from streamedit_sdk.apps.serve.config import RaySettings, ServeConfig

__all__ = ["RaySettings", "ServeConfig"]
