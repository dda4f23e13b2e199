"""The device pipeline: the editor's per-frame work on the GPU (torch tensors, CUDA kernels).

Chosen by the GPU backends (``EditorConfig(backend="torch-cuda" | "ort-cuda" | "trt")``);
``torch-cpu`` runs the same code on CPU tensors. torch is imported only here, and only when
one of these backends is asked for: ``import streamedit_sdk`` never imports it.
"""

from __future__ import annotations

from ..config import EditorConfig
from ..timing import Timer
from .ppce import DevicePPCE, pyramid_lk
from .torch_ops import TorchOps

__all__ = ["DevicePPCE", "TorchOps", "open_device_pipeline", "pyramid_lk"]


def open_device_pipeline(config: EditorConfig, timer: Timer) -> tuple[TorchOps, DevicePPCE]:
    """(array ops, correspondence model) for a device backend of ``config``."""
    xp = TorchOps("cpu" if config.backend == "torch-cpu" else "cuda", config.num_threads)
    return xp, DevicePPCE(xp, config.backend, config.model_dir, timer, config.num_threads,
                          config.cuda_graphs)
