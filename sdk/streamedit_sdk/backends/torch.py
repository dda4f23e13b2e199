"""torch backend: the PPCE networks from the model folder's checkpoint, on the CPU or a GPU.

The reference implementation (the same modules the ONNX files were exported from) and the
``torch-cuda`` backend. It needs the build package (``streamedit_build``, in the wheel) and
torch; the runtime imports neither unless this backend is chosen.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..netspec import BACKBONE_SPEC, HEAD_SPEC
from .base import Backend, BackendUnavailableError, ModelFileError, TensorSpec

log = logging.getLogger(__name__)

_SPECS = {"backbone": BACKBONE_SPEC, "head": HEAD_SPEC}


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("the torch backends need torch: pip install torch (a CUDA build for "
                          "torch-cuda)") from exc
    return torch


def find_checkpoint(folder: Path) -> Path:
    """The checkpoint a model folder was exported from: the one ``*.pt`` in the folder (the
    shipped model, ``fit``), else the ``checkpoint`` model.json names (``export``)."""
    found = sorted(folder.glob("*.pt"))
    if len(found) == 1:
        return found[0]
    try:
        named = json.loads((folder / "model.json").read_text()).get("checkpoint")
    except (OSError, ValueError):
        named = None
    if not found and named and Path(named).is_file():
        return Path(named)
    what = "no checkpoint (*.pt)" if not found else f"{len(found)} checkpoints (*.pt)"
    raise ModelFileError(f"{folder} has {what}: the torch backends load the checkpoint the "
                         "ONNX files were exported from; put that one .pt in the folder, or "
                         "use the ort-* backends")


def load_network(folder: Path, which: str, device: str):
    """(torch module in eval mode on ``device``, model config) of ``which`` ("backbone" or
    "head") from the folder's checkpoint."""
    torch = _torch()
    try:
        from streamedit_build.model import load_checkpoint
    except ImportError as exc:
        raise ImportError("the torch backends need streamedit_build (it ships with "
                          "streamedit-sdk; reinstall the package)") from exc
    model, _ = load_checkpoint(find_checkpoint(folder))
    if which not in _SPECS:
        raise ValueError(f"unknown network {which!r}: backbone or head")
    net = getattr(model, which).to(device).eval()
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return net, model.config


class TorchBackend(Backend):
    """One PPCE network as a torch module. ``onnx_path`` names the network (its stem) and the
    folder holding the checkpoint; ``device``: "cpu" or "cuda[:n]"."""

    def __init__(self, onnx_path: str | Path, device: str = "cpu") -> None:
        torch = _torch()
        self.path = Path(onnx_path)
        which = self.path.stem
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailableError("backend torch-cuda needs a CUDA build of torch and a visible "
                               "GPU: torch.cuda.is_available() is False")
        self._torch = torch
        self._device = torch.device(device)
        self._net, _ = load_network(self.path.parent, which, device)
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
        out = self._net(*args)
        return out if isinstance(out, tuple) else (out,)

    def close(self) -> None:
        self._net = None


def _shape(spec, name: str) -> tuple[int | str, ...]:
    """(1, "channels", dynamic names...): batch 1, the rest as the exported file names them."""
    dims = spec.dynamic_axes.get(name, {})
    return (1, "channels") + tuple(dims.get(i, f"d{i}") for i in (2, 3))
