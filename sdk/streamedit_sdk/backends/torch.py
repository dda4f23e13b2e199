"""torch backend: the PPCE networks as TorchScript, on the CPU or a GPU.

``streamedit export`` (and ``fit``, ``train``) write ``backbone.torchscript`` and
``head.torchscript`` beside the ONNX files: the same modules, traced. This backend loads them
with ``torch.jit.load``, so it needs torch but not the build package; the runtime imports torch
only when this backend is chosen.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from streamedit_sdk.backends.base import Backend, TensorSpec, check_sha256
from streamedit_sdk.backends.netspec import BACKBONE_SPEC, HEAD_SPEC
from streamedit_sdk.errors import BackendUnavailableError, ModelFileError

log = logging.getLogger(__name__)

_SPECS = {"backbone": BACKBONE_SPEC, "head": HEAD_SPEC}


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("the torch backends need torch: pip install torch (a CUDA build for "
                          "torch-cuda)") from exc
    return torch


def torchscript_path(onnx_path: Path) -> Path:
    """The TorchScript file exported beside ``onnx_path``, checked against model.json."""
    path = onnx_path.with_suffix(".torchscript")
    if not path.is_file():
        raise ModelFileError(f"{path} is missing: the torch backends load the TorchScript "
                             "files `streamedit export` writes beside the ONNX files; export the "
                             "model again with this SDK, or use the ort-* backends")
    try:
        want = json.loads((path.parent / "model.json").read_text()).get("sha256", {})
    except (OSError, ValueError):
        want = {}
    check_sha256(path, want.get(path.name))
    return path


class TorchBackend(Backend):
    """One PPCE network as a TorchScript module. ``onnx_path`` names the network (its stem)
    and the folder holding it; ``device``: "cpu" or "cuda[:n]"."""

    def __init__(self, onnx_path: str | Path, device: str = "cpu") -> None:
        torch = _torch()
        self.path = Path(onnx_path)
        which = self.path.stem
        if which not in _SPECS:
            raise ValueError(f"unknown network {which!r}: backbone or head")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailableError("backend torch-cuda needs a CUDA build of torch and a "
                                          "visible GPU: torch.cuda.is_available() is False")
        self._torch = torch
        self._device = torch.device(device)
        try:
            with warnings.catch_warnings():  # torch 2.13 calls TorchScript deprecated; it loads
                warnings.simplefilter("ignore", DeprecationWarning)
                net = torch.jit.load(str(torchscript_path(self.path)), map_location=self._device)
        except RuntimeError as exc:  # torch's refusal of a file that is not TorchScript
            raise ModelFileError(f"{self.path.with_suffix('.torchscript')} is not a TorchScript "
                                 f"file ({exc}): export the model again") from exc
        self._net = net.eval()
        if device.startswith("cuda"):
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        spec = _SPECS[which]
        self._inputs = tuple(TensorSpec(n, _shape(spec, n), "float32") for n in spec.inputs)
        self._outputs = tuple(TensorSpec(n, _shape(spec, n), "float32") for n in spec.outputs)

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.check_feeds(feeds)
        torch = self._torch
        args = [torch.from_numpy(np.ascontiguousarray(feeds[s.name])).to(self._device)
                for s in self._inputs]
        with torch.inference_mode():
            out = self._run(args)
        return {s.name: t.float().cpu().numpy() for s, t in zip(self._outputs, out)}

    def infer_device(self, feeds: dict[str, Any], outputs: dict[str, Any]) -> None:
        """Device tensors in, written into the preallocated ``outputs`` (by name)."""
        with self._torch.inference_mode():
            out = self._run([feeds[s.name] for s in self._inputs])
        for s, t in zip(self._outputs, out):
            outputs[s.name].copy_(t)

    def _run(self, args: list) -> tuple:
        # The plain TorchScript interpreter: the profiling executor re-specialises the graph
        # on its first calls, which a CUDA graph being recorded must not see (and the
        # recorded graph removes the launch overhead that its fusions would save).
        with self._torch.jit.optimized_execution(False):
            out = self._net(*args)
        return out if isinstance(out, tuple) else (out,)

    def close(self) -> None:
        self._net = None


def _shape(spec, name: str) -> tuple[int | str, ...]:
    """(1, "channels", dynamic names...): batch 1, the rest as the exported file names them."""
    dims = spec.dynamic_axes.get(name, {})
    return (1, "channels") + tuple(dims.get(i, f"d{i}") for i in (2, 3))
