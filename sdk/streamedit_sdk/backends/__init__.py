"""Inference backends behind one interface (:class:`Backend`).

``open_network(placement, onnx_path, ...)`` picks the implementation for a parsed
:class:`~streamedit_sdk.config.Placement`: onnxruntime (CPU or CUDA execution provider),
TensorRT (an engine built once from the same ONNX file and cached) or torch (the TorchScript
files ``export`` writes beside the ONNX files). No registry: one function, one branch a runtime.
"""

from __future__ import annotations

from pathlib import Path

from streamedit_sdk.backends.base import Backend, TensorSpec
from streamedit_sdk.config import Placement

__all__ = ["Backend", "TensorSpec", "open_network"]


def open_network(placement: Placement, onnx_path: str | Path, *, threads: int = 0,
                 engine_cache: str | Path | None = None, profiles=None) -> Backend:
    """Load ``onnx_path`` where ``placement`` says. TensorRT needs ``profiles`` (input name
    -> (min, opt, max) shapes) and caches engines in ``engine_cache``."""
    if placement.runtime == "ort":
        from streamedit_sdk.backends.onnxruntime import OrtBackend
        return OrtBackend(onnx_path, "cuda" if placement.device == "cuda" else "cpu", threads)
    if placement.runtime == "trt":
        from streamedit_sdk.backends.tensorrt import TrtBackend, cached_engine
        cache = Path(engine_cache or Path.home() / ".cache" / "streamedit" / "engines")
        return TrtBackend(cached_engine(Path(onnx_path), cache, profiles or {}))
    from streamedit_sdk.backends.torch import TorchBackend
    return TorchBackend(onnx_path, "cuda" if placement.device == "cuda" else "cpu")
