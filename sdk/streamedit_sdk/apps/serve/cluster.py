"""Each stream's editor in a Ray actor, on any node of a Ray cluster (``serve --ray``).

The media terminates at the front door (the ``serve`` process: WebRTC, decoding, encoding)
and each stream's frames go to its actor and back, one call per frame; the actor holds the
:class:`~streamedit_sdk.StreamEditor` (MediaPipe, the correspondence, the references), which
is the part that needs the cores or the GPU. Why there, and what it costs, is in
docs/serving.md.

An actor that dies mid-stream (its process killed, its node lost) is replaced by a spare
started ahead of time; the stream's live loop then takes the next frame that shows a face
as a fresh reference (:class:`~streamedit_sdk.errors.EditorLost`), and no other stream is
touched. Needs ``pip install 'streamedit-sdk[ray]'`` on every node.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from streamedit_sdk.apps import synthetic
from streamedit_sdk.apps.serve.config import RaySettings
from streamedit_sdk.config import EditorConfig
from streamedit_sdk.core.editor import StreamEditor
from streamedit_sdk.edits import apply_style
from streamedit_sdk.errors import EditorLost

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0  # an actor that has not loaded its editor by then is given up
CALL_TIMEOUT_S = 30.0  # one frame on an actor; longer means the actor is lost
WARM_FRAMES = 4  # synthetic frames an actor edits before it is ready


class EditorActor:
    """A :class:`StreamEditor` in its own process (the Ray actor's class)."""

    def __init__(self, config: EditorConfig) -> None:
        self._editor = StreamEditor(config)
        # a few synthetic frames first: the first calls of a new process (MediaPipe's graphs,
        # the kernels' threads, imports on first use) cost seconds, which a failover must not
        frames = synthetic.clip(WARM_FRAMES)[0]
        self._editor.set_reference(frames[0], apply_style("cartoon", frames[0]))
        for frame in frames[1:]:
            self._editor.process(frame)
        self._warm_references = self._editor.stats.references  # not the stream's

    def ready(self) -> int:
        """The actor's process id, once the editor is loaded and warm."""
        return os.getpid()

    def set_reference(self, frame: np.ndarray, edited: np.ndarray, index: int,
                      mode: str | None, needs_face: bool = True, inpainter=None) -> None:
        self._editor.set_reference(frame, edited, index=index, mode=mode,
                                   needs_face=needs_face, inpainter=inpainter)

    def process(self, frame: np.ndarray) -> tuple[np.ndarray, bool, int]:
        """(edited frame, face found, references so far)."""
        result = self._editor.process(frame)
        return (result.frame, result.face_found,
                self._editor.stats.references - self._warm_references)

    def close(self) -> None:
        self._editor.close()


class ActorPool:
    """Starts editor actors on the cluster ahead of need and hands out one per stream."""

    def __init__(self, settings: RaySettings, config: EditorConfig) -> None:
        self.settings, self.config = settings, config
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=settings.address, logging_level=logging.WARNING,
                     log_to_driver=False)
        self._actor_class = ray.remote(num_cpus=settings.num_cpus,
                                       num_gpus=settings.num_gpus)(EditorActor)
        self._spares: deque = deque()
        self._lock = threading.Lock()
        self.started = 0  # actors started, spares included
        self._refill()

    def _start_one(self):
        self.started += 1
        return self._actor_class.remote(self.config)  # returns at once; loads meanwhile

    def _refill(self) -> None:
        with self._lock:
            while len(self._spares) < self.settings.spares:
                self._spares.append(self._start_one())

    def take(self) -> tuple[object, int]:
        """An actor with its editor loaded, and its process id (a spare when one is there;
        a new spare is started in its place). RuntimeError when none becomes ready."""
        for _ in range(3):
            with self._lock:
                actor = self._spares.popleft() if self._spares else self._start_one()
            self._refill()
            try:
                return actor, ray.get(actor.ready.remote(), timeout=READY_TIMEOUT_S)
            except (RayActorError, GetTimeoutError) as exc:  # that one died loading: another
                log.warning("an editor actor did not start: %s", exc)
                ray.kill(actor, no_restart=True)
        raise RuntimeError("three editor actors in a row did not start on the Ray cluster: "
                           "see its logs (`ray status`, /tmp/ray/session_latest/logs)")

    def close(self) -> None:
        with self._lock:
            while self._spares:
                ray.kill(self._spares.popleft(), no_restart=True)
        if self._owns_ray:
            ray.shutdown()


@dataclass
class RemoteStats:
    references: int = 0  # the references the actor's editor has had


@dataclass(frozen=True)
class RemoteResult:
    frame: np.ndarray  # (H, W, 3) uint8 edited
    face_found: bool


class RemoteEditor:
    """What the live loop calls on an editor (``set_reference``, ``process``, ``stats``,
    ``close``), done by an actor of ``pool``. When the actor dies the next one is taken at
    once and :class:`EditorLost` tells the loop to take a fresh reference."""

    def __init__(self, pool: ActorPool) -> None:
        self._pool = pool
        self._actor, self.pid = pool.take()
        self.stats = RemoteStats()
        self.replaced = 0  # actors lost and replaced

    def set_reference(self, frame: np.ndarray, edited: np.ndarray, *, index: int = 0,
                      mode: str | None = None, needs_face: bool = True,
                      inpainter=None) -> None:
        self._call(self._actor.set_reference.remote(frame, edited, index, mode, needs_face,
                                                    inpainter))

    def process(self, frame: np.ndarray) -> RemoteResult:
        out, face, references = self._call(self._actor.process.remote(frame))
        self.stats.references = references
        return RemoteResult(out, face)

    def _call(self, ref):
        try:
            return ray.get(ref, timeout=CALL_TIMEOUT_S)
        except RayTaskError as exc:  # the editor's own error (no face, sizes): as raised
            raise exc.cause from None
        except (RayActorError, GetTimeoutError) as exc:
            lost = self.pid
            ray.kill(self._actor, no_restart=True)
            self._actor, self.pid = self._pool.take()
            self.replaced += 1
            raise EditorLost(f"the editor actor (pid {lost}) was lost ({type(exc).__name__}); "
                             f"pid {self.pid} takes over") from exc

    def close(self) -> None:
        try:
            ray.get(self._actor.close.remote(), timeout=CALL_TIMEOUT_S)
        except (RayActorError, GetTimeoutError):
            pass  # gone already
        ray.kill(self._actor, no_restart=True)

    def __enter__(self) -> "RemoteEditor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
