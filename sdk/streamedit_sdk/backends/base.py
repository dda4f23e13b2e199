"""One interface for every inference backend: load a network, describe its tensors, infer.

The runtime's model code talks only to :class:`Backend`; onnxruntime and TensorRT each live in
their own module, and the caller picks one by name (:func:`streamedit_sdk.backends.open_network`).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streamedit_sdk.errors import ModelFileError


def check_sha256(path: Path, want: str | None) -> None:
    """``ModelFileError`` when ``path``'s sha256 is not ``want``, the one model.json records
    (None: none recorded, nothing to check): a truncated or corrupted file is refused at
    load, not mid-stream."""
    if want and hashlib.sha256(path.read_bytes()).hexdigest() != want:
        raise ModelFileError(f"model file {path} is corrupt (its sha256 differs from "
                             "model.json): reinstall streamedit-sdk or export the model again")

@dataclass(frozen=True)
class TensorSpec:
    """One input or output. ``shape``: ints for fixed axes, names (str) for dynamic ones."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str  # numpy dtype name, e.g. "float32"


class Backend(ABC):
    """A loaded network. ``infer`` takes and returns host numpy arrays by tensor name.

    Implementations set ``path``, ``_inputs`` and ``_outputs`` when they load."""

    path: Path
    _inputs: tuple[TensorSpec, ...]
    _outputs: tuple[TensorSpec, ...]

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        """The network's inputs, in order."""
        return self._inputs

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        """The network's outputs, in order."""
        return self._outputs

    @abstractmethod
    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run once. ``feeds``: every input by name (float32, C-contiguous)."""

    def check_feeds(self, feeds: dict[str, np.ndarray]) -> None:
        """ValueError naming the first input that is missing or has the wrong rank/dtype."""
        for spec in self.inputs:
            if spec.name not in feeds:
                raise ValueError(f"{self.path.name}: input {spec.name!r} is missing")
            a = feeds[spec.name]
            if a.ndim != len(spec.shape) or a.dtype != np.dtype(spec.dtype):
                raise ValueError(f"{self.path.name}: input {spec.name!r} must be {spec.dtype} "
                                 f"with shape {spec.shape}, got {a.dtype} {a.shape}")
            for want, got in zip(spec.shape, a.shape):
                if isinstance(want, int) and want != got:
                    raise ValueError(f"{self.path.name}: input {spec.name!r} must have shape "
                                     f"{spec.shape}, got {a.shape}")

    def infer_device(self, feeds: dict[str, Any], outputs: dict[str, Any]) -> None:
        """Run once on device memory: ``feeds`` and ``outputs`` are contiguous float32 torch
        tensors by name, on the device the backend runs on (``outputs`` preallocated with the
        output shapes; written in place). Work is queued on torch's current CUDA stream."""
        raise NotImplementedError(f"{type(self).__name__} has no device path: use the ort-cuda, "
                                  "trt or torch-* backends for the device pipeline")

    def close(self) -> None:
        """Release what the backend holds (sessions, device memory)."""
