"""Changing the edit while streaming: a watched JSON file or an HTTP endpoint on 127.0.0.1.

A request is JSON, one of::

    {"style": "cartoon"}
    {"sticker": "star", "sticker_at": "cheek"}        # or a PNG path
    {"edited_ref": "/path/edited.png", "reference": "/path/frame.png"}

``edited_ref`` is an edit of a frame of this stream; ``reference`` is that frame unedited (when
missing, the frame being processed when the request arrives is taken as the one edited). The
runner applies a request between two frames: the frame after it is the first with the new
edit, and no frame goes out unedited or half-switched.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlparse

import numpy as np

from streamedit_sdk.apps.access import JSON, Asked, Door, check_access
from streamedit_sdk.edits.spec import EditSpec
from streamedit_sdk.io.images import check_image, read_image

log = logging.getLogger(__name__)

MAX_BODY = 1 << 16  # bytes: requests are small JSON documents


@dataclass(frozen=True)
class EditRequest:
    """A new edit for the stream (see the module docstring)."""

    spec: EditSpec
    reference: Path | None = None  # the unedited frame ``spec.edited_ref`` was made from

    @classmethod
    def parse(cls, text: str) -> "EditRequest":
        """ValueError with the reason for anything but one of the documented requests; the
        files it names are read now, so a request that would fail later is refused here."""
        try:
            data = json.loads(text)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply: a request is one flat object") from exc
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("a request is a JSON object")
        known = {"style", "sticker", "sticker_at", "edited_ref", "reference"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}: use {sorted(known)}")
        wrong = sorted(k for k, v in data.items() if not isinstance(v, str) or not v)
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: each value is a non-empty string")
        edited = data.get("edited_ref")
        try:
            spec = EditSpec(edited_ref=Path(edited) if edited else None,
                            style=data.get("style"), sticker=data.get("sticker"),
                            sticker_at=data.get("sticker_at", "cheek"))
            spec.check_files()
            reference = Path(data["reference"]) if "reference" in data else None
            if reference is not None:
                check_image(reference, "reference")
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from exc
        return cls(spec, reference)

    def reference_frame(self, current: np.ndarray) -> np.ndarray:
        """The frame the edit belongs to: ``reference`` read from disk, else ``current``."""
        if self.reference is None:
            return current
        return read_image(self.reference, current.shape)


class WatchedFile:
    """A JSON request file, read again whenever its modification time changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def poll(self) -> EditRequest | None:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return None
        self._seen = stamp
        try:
            return EditRequest.parse(self.path.read_text())
        except (OSError, ValueError) as exc:
            log.error("control file %s: %s; the edit is unchanged", self.path, exc)
            return None

    def close(self) -> None:
        pass


class RequestQueue:
    """Edit requests put from any thread, taken by the runner between two frames (``poll``)."""

    def __init__(self) -> None:
        self._requests: queue.Queue[EditRequest] = queue.Queue()

    def put(self, request: EditRequest) -> None:
        self._requests.put(request)

    def poll(self) -> EditRequest | None:
        """The oldest request not yet taken, or None."""
        try:
            return self._requests.get_nowait()
        except queue.Empty:
            return None


class HttpControl(RequestQueue):
    """``POST /edit`` (a JSON request) and ``GET /stats`` on ``host``:``port`` (0: any free
    port; ``url`` says which). The rules of :mod:`streamedit_sdk.apps.access`, as for
    ``serve``: loopback by default, any other address only with ``token``, which every
    request must then carry (401 without it); without a token, requests must name the
    server by a loopback name (403: DNS rebinding); a request from another web site is
    refused (403), and ``POST /edit`` takes ``application/json`` only (415: a cross-site
    ``text/plain`` post). 400 for a malformed request, 413 for a body over
    :data:`MAX_BODY`."""

    def __init__(self, port: int, stats: Callable[[], dict], host: str = "127.0.0.1",
                 token: str | None = None) -> None:
        check_access(host, token, "the control endpoint (--control-token)")
        super().__init__()
        owner = self
        door = Door(token, allow_hint=" (this endpoint is for this machine's own programs)")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                if not self._allowed("/edit"):
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length > MAX_BODY:
                    return self._reply(413, {"error": f"the body is {length} bytes; at most "
                                                      f"{MAX_BODY}"})
                if length <= 0:
                    return self._reply(400, {"error": "a JSON body with its Content-Length "
                                                      "is needed"})
                try:
                    request = EditRequest.parse(self.rfile.read(length).decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as exc:
                    return self._reply(400, {"error": str(exc)})
                owner.put(request)
                self._reply(202, {"accepted": True})

            def do_GET(self) -> None:  # noqa: N802
                if self._allowed("/stats"):
                    self._reply(200, stats())

            def _other(self) -> None:
                """Any other method: the door first, then 405 (JSON, as every answer)."""
                if self._allowed(urlparse(self.path).path):
                    self._reply(405, {"error": "POST /edit or GET /stats"})

            do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _other  # noqa: N815

            def _allowed(self, path: str) -> bool:
                """Answer 401 / 403 / 415 / 404 and return False unless the request may go
                on."""
                url = urlparse(self.path)
                query = parse_qs(url.query).get("token", [None])[0]
                asked = Asked(self.command, self.headers.get("Host"),
                              self.headers.get("Origin"), self.headers.get("Authorization"),
                              query, self.headers.get_content_type()
                              if self.headers.get("Content-Type") else None)
                no = door.refusal(asked, JSON if self.command == "POST" else ())
                if no is not None:
                    self.close_connection = True  # its body, if any, is not read
                    self._reply(no[0], {"error": no[1]})
                    return False
                if url.path != path:
                    self._reply(404, {"error": "POST /edit or GET /stats"})
                    return False
                return True

            def _reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt: str, *args) -> None:
                log.debug("control: " + fmt, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="streamedit-control", daemon=True)
        self._thread.start()
        log.info("control endpoint %s (POST /edit, GET /stats%s)", self.url,
                 "; token required" if token else "")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def check_control(target: str, token: str | None = None) -> None:
    """ValueError unless ``target`` is a path or ``http://HOST:PORT`` that ``token`` allows
    (any host but loopback needs one; see :func:`~streamedit_sdk.apps.access.check_access`)."""
    if "://" not in target:
        return
    url = urlparse(target)
    if url.scheme != "http" or not url.hostname or url.path not in ("", "/"):
        raise ValueError(f"control endpoint {target}: give http://HOST:PORT (e.g. "
                         "http://127.0.0.1:8765), or a file to watch")
    check_access(url.hostname, token, f"control endpoint {target} (--control-token)")


def open_control(target: str, stats: Callable[[], dict],
                 token: str | None = None) -> WatchedFile | HttpControl:
    """``http://HOST:PORT`` (loopback, or any address with ``token``) or a path to watch."""
    check_control(target, token)
    if "://" not in target:
        return WatchedFile(target)
    url = urlparse(target)
    return HttpControl(url.port or 0, stats, host=url.hostname, token=token)
