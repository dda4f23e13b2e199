"""CUDA graphs: a function of device tensors recorded once per input shape, then replayed.

The per-frame correspondence is a few hundred small kernels (the Lucas-Kanade pyramid, the two
networks, resizes); launched one by one from Python they cost more CPU time than the GPU takes
to run them. Recorded as a graph they are one launch. Inputs are copied into static buffers
before each replay (device-to-device, microseconds); outputs are copied out of the graph's
buffers, so results stay valid after the next replay.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger(__name__)

WARMUP_CALLS = 2  # eager calls on a side stream before recording (lazy init, workspaces)


class GraphedFunction:
    """``fn(*constants, *inputs) -> tuple of tensors`` replayed from a CUDA graph, one graph
    per signature (shapes and dtypes of all tensors). ``constants`` change rarely (the
    reference's tensors): they are copied into the graph only when ``token`` changes;
    ``inputs`` are copied on every call.

    If recording fails (an operation that cannot be captured), the failure is logged once and
    every later call runs ``fn`` directly.
    """

    def __init__(self, fn: Callable[..., tuple]) -> None:
        import torch

        self._torch = torch
        self._fn = fn
        self._graphs: dict[tuple, tuple[Any, list, tuple]] = {}
        self._tokens: dict[tuple, object] = {}
        self.failed = False

    def __call__(self, token: object, constants: tuple, inputs: tuple) -> tuple:
        n_const = len(constants)
        inputs = (*constants, *inputs)
        if self.failed:
            return self._fn(*inputs)
        key = tuple((tuple(t.shape), t.dtype) for t in inputs)
        if key not in self._graphs:
            try:
                self._graphs[key] = self._record(inputs)
            except (RuntimeError, ValueError) as exc:  # torch's and the kernels' refusals
                self.failed = True
                log.warning("CUDA graph capture failed (%s); running kernel by kernel", exc)
                return self._fn(*inputs)
            self._tokens[key] = token
        graph, static_in, static_out = self._graphs[key]
        copy_constant = self._tokens.get(key) is not token
        self._tokens[key] = token  # holds the token: its id cannot be reused meanwhile
        for i, (dst, src) in enumerate(zip(static_in, inputs)):
            if i >= n_const or copy_constant:
                dst.copy_(src)
        graph.replay()
        return tuple(t.clone() for t in static_out)

    def _record(self, inputs: tuple) -> tuple[Any, list, tuple]:
        torch = self._torch
        static_in = [t.clone() for t in inputs]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_CALLS):
                self._fn(*static_in)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            static_out = self._fn(*static_in)
        log.info("recorded a CUDA graph for inputs %s", [tuple(t.shape) for t in inputs])
        return graph, static_in, tuple(static_out)
