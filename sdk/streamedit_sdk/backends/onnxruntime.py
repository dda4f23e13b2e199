"""onnxruntime backend: CPU by default, CUDA when onnxruntime-gpu is installed and asked for."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .base import Backend, ModelFileError, TensorSpec

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

    @staticmethod
    def _spec(arg) -> TensorSpec:
        shape = tuple(d if isinstance(d, int) else str(d) for d in arg.shape)
        return TensorSpec(arg.name, shape, _DTYPES.get(arg.type, arg.type))

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.check_feeds(feeds)
        values = self._session.run(self._names, {s.name: feeds[s.name] for s in self._inputs})
        return dict(zip(self._names, values))

    def close(self) -> None:
        self._session = None
