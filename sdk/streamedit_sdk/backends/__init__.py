"""Inference backends behind one interface (:class:`Backend`).

``open_network(backend, onnx_path, ...)`` picks the implementation by the editor's backend
name: ``ort-cpu`` / ``ort-cuda`` (onnxruntime), ``trt`` (TensorRT engine from the same ONNX,
built once and cached) or ``torch-cpu`` / ``torch-cuda`` (the modules of the checkpoint beside
the ONNX files). No registry: the names are the ones in ``config.BACKENDS``.
"""

from __future__ import annotations

from pathlib import Path

from .base import Backend, BackendUnavailableError, ModelFileError, TensorSpec

__all__ = ["Backend", "BackendUnavailableError", "ModelFileError", "TensorSpec", "open_network"]


def open_network(backend: str, onnx_path: str | Path, *, threads: int = 0,
                 engine_cache: str | Path | None = None, profiles=None) -> Backend:
    """Load ``onnx_path`` with ``backend``. ``trt`` needs ``profiles`` (input name ->
    (min, opt, max) shapes) and caches engines in ``engine_cache``."""
    if backend in ("ort-cpu", "ort-cuda"):
        from .onnxruntime import OrtBackend
        return OrtBackend(onnx_path, "cuda" if backend == "ort-cuda" else "cpu", threads)
    if backend == "trt":
        from .tensorrt import TrtBackend, cached_engine
        cache = Path(engine_cache or Path.home() / ".cache" / "streamedit" / "engines")
        return TrtBackend(cached_engine(Path(onnx_path), cache, profiles or {}))
    if backend in ("torch-cpu", "torch-cuda"):
        from .torch import TorchBackend
        return TorchBackend(onnx_path, "cuda" if backend == "torch-cuda" else "cpu")
    raise ValueError(f"unknown backend {backend!r}: use ort-cpu, ort-cuda, trt, torch-cpu or "
                     "torch-cuda")
