"""onnxruntime backend: CPU by default, CUDA when onnxruntime-gpu is installed and asked for."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from streamedit_sdk.backends.base import Backend, TensorSpec
from streamedit_sdk.errors import ModelFileError

log = logging.getLogger(__name__)

_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(int64)": "int64"}


def _ort():
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError("the ort backends need onnxruntime: pip install onnxruntime "
                          "(or onnxruntime-gpu for ort-cuda)") from exc
    return onnxruntime


class OrtBackend(Backend):
    """An ONNX file in an onnxruntime session.

    ``device``: "cpu" or "cuda" (needs onnxruntime-gpu; refused with a message otherwise).
    ``threads``: intra-op threads, 0 for onnxruntime's default (all cores).
    """

    def __init__(self, path: str | Path, device: str = "cpu", threads: int = 0) -> None:
        ort = _ort()
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"model file {self.path} does not exist (reinstall "
                                 "streamedit-sdk, or point model_dir at an export folder)")
        providers = ["CPUExecutionProvider"]
        if device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ModelFileError("backend ort-cuda needs onnxruntime-gpu with CUDA: "
                                     "pip install onnxruntime-gpu, or use ort-cpu")
            providers.insert(0, "CUDAExecutionProvider")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Idle intra-op threads sleep instead of spinning: spinning threads took the cores from
        # the Lucas-Kanade kernel and OpenCV that run right after the head (refine 15.7 ms
        # instead of 7 ms per 512 px frame).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(self.path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types, not exported
            raise ModelFileError(f"cannot load {self.path}: it is not a valid ONNX model "
                                 f"({type(exc).__name__}: {str(exc)[:200]}); reinstall "
                                 "streamedit-sdk or export it again") from exc
        self._inputs = tuple(self._spec(a) for a in self._session.get_inputs())
        self._outputs = tuple(self._spec(a) for a in self._session.get_outputs())
        self._names = [o.name for o in self._outputs]
        self._device = device

    @staticmethod
    def _spec(arg) -> TensorSpec:
        shape = tuple(d if isinstance(d, int) else str(d) for d in arg.shape)
        return TensorSpec(arg.name, shape, _DTYPES.get(arg.type, arg.type))

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.check_feeds(feeds)
        values = self._session.run(self._names, {s.name: feeds[s.name] for s in self._inputs})
        return dict(zip(self._names, values))

    def infer_device(self, feeds: dict[str, Any], outputs: dict[str, Any]) -> None:
        """IO binding: onnxruntime reads the feeds and writes the outputs where they are (torch
        tensors on this session's device: CUDA for ort-cuda, host memory for ort-cpu), with no
        copy through numpy."""
        binding = self._session.io_binding()
        for spec, tensors in ((self._inputs, feeds), (self._outputs, outputs)):
            for s in spec:
                t = tensors[s.name]
                if not t.is_contiguous() or str(t.dtype) != "torch.float32":
                    raise ValueError(f"{self.path.name}: {s.name!r} must be a contiguous "
                                     f"float32 tensor, got {t.dtype}")
                device = "cuda" if t.is_cuda else "cpu"
                if device != self._device:
                    raise ValueError(f"{self.path.name}: {s.name!r} is on {device} but this "
                                     f"session runs on {self._device}")
                bind = binding.bind_input if tensors is feeds else binding.bind_output
                bind(s.name, device, t.device.index or 0, np.float32, tuple(t.shape),
                     t.data_ptr())
        if self._device == "cuda":
            # onnxruntime runs on its own stream: what torch queued must be done first
            import torch

            torch.cuda.current_stream().synchronize()
        self._session.run_with_iobinding(binding)

    def close(self) -> None:
        self._session = None
