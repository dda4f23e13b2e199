"""TensorRT backend: fp16 engines built from the exported ONNX, cached, checked at load.

An engine only runs on the GPU architecture and TensorRT version it was built with, so every
engine file carries its metadata in front of the serialized engine::

    b"SEENGINE" | uint32 little-endian length | JSON metadata | engine bytes

The metadata (SDK version, TensorRT version, compute capability, GPU name, precision, ONNX
sha256, profile shapes) is checked before TensorRT sees the bytes: an engine from another GPU
or TensorRT version is rebuilt by :func:`cached_engine` (or refused by :func:`read_engine` with
a message that says what to do). The cache file name holds the same key, so engines for
several GPUs can share one folder. Buffers go through pycuda.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import logging
import struct
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streamedit_sdk.backends.base import Backend, TensorSpec
from streamedit_sdk.errors import ModelFileError

log = logging.getLogger(__name__)

MAGIC = b"SEENGINE"
Profiles = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


class EngineMismatchError(ModelFileError):
    """The engine was built for another GPU, TensorRT version, precision or ONNX file."""


@dataclass(frozen=True)
class EngineMeta:
    """What an engine was built for (stored in the engine file, checked at load)."""

    sdk_version: str
    tensorrt_version: str
    compute_capability: str  # "9.0"
    gpu: str
    precision: str  # "fp16" or "fp32"
    onnx_sha256: str
    profiles: dict  # input name -> [min, opt, max] shapes
    created: str

    def key(self) -> str:
        """Cache key: what decides whether an engine can be reused."""
        text = f"{self.onnx_sha256}:{self.tensorrt_version}:{self.compute_capability}:" \
               f"{self.precision}:{json.dumps(self.profiles, sort_keys=True)}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def mismatch(self, want: "EngineMeta") -> str | None:
        """None when this engine can serve ``want``; else what differs, in words."""
        for name, label in (("compute_capability", "compute capability"),
                            ("tensorrt_version", "TensorRT"), ("precision", "precision"),
                            ("onnx_sha256", "ONNX file (sha256)")):
            have, need = getattr(self, name), getattr(want, name)
            if have != need:
                return f"{label} {have} (this machine needs {need})"
        return None


def write_engine(path: Path, meta: EngineMeta, engine: bytes) -> None:
    """Metadata header + engine bytes, written atomically."""
    header = json.dumps(asdict(meta), sort_keys=True).encode()
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(MAGIC + struct.pack("<I", len(header)) + header + engine)
    tmp.replace(path)


def read_engine(path: Path, want: EngineMeta | None = None) -> tuple[EngineMeta, bytes]:
    """(metadata, engine bytes); EngineMismatchError when ``want`` is given and differs."""
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise ModelFileError(f"{path} is not a StreamEdit engine file (no metadata header): "
                             "build it with `streamedit export --tensorrt`")
    (n,) = struct.unpack("<I", data[len(MAGIC):len(MAGIC) + 4])
    start = len(MAGIC) + 4
    try:
        meta = EngineMeta(**json.loads(data[start:start + n]))
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{path}: corrupt engine metadata ({exc}); delete the file "
                             "and build it again") from exc
    if want is not None:
        why = meta.mismatch(want)
        if why is not None:
            raise EngineMismatchError(
                f"engine {path} was built for {why}: rebuild it with `streamedit export "
                "--tensorrt` or delete it (the engine cache builds a new one on first use)")
    return meta, data[start + n:]


def _trt():
    try:
        import tensorrt
    except ImportError as exc:
        raise ImportError("backend trt needs TensorRT and pycuda: pip install tensorrt pycuda "
                          "(or use ort-cpu)") from exc
    return tensorrt


def gpu_identity() -> tuple[str, str]:
    """(compute capability "M.m", GPU name) of device 0, from pycuda or nvidia-smi."""
    try:
        import pycuda.driver as cuda
        cuda.init()
        dev = cuda.Device(0)
        major, minor = dev.compute_capability()
        return f"{major}.{minor}", dev.name()
    except ImportError:
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=compute_cap,name",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        raise ModelFileError("no NVIDIA GPU found (pycuda and nvidia-smi both failed): the trt "
                             "backend needs one") from exc
    cap, name = (s.strip() for s in out.split(",", 1))
    return cap, name


def wanted_meta(onnx_path: Path, profiles: Profiles, precision: str = "fp16") -> EngineMeta:
    """The metadata an engine for ``onnx_path`` on this machine must have."""
    from streamedit_sdk import __version__

    cap, name = gpu_identity()
    return EngineMeta(__version__, _trt().__version__, cap, name, precision,
                      hashlib.sha256(Path(onnx_path).read_bytes()).hexdigest(),
                      {k: [list(s) for s in v] for k, v in profiles.items()},
                      dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def build_engine(onnx_path: Path, profiles: Profiles, precision: str = "fp16",
                 workspace_gb: float = 2.0) -> bytes:
    """Serialize a TensorRT engine for ``onnx_path`` with one optimization profile."""
    trt = _trt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelFileError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in profiles.items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelFileError(f"TensorRT failed to build an engine for {onnx_path}")
    return bytes(serialized)


def cached_engine(onnx_path: Path, cache_dir: Path, profiles: Profiles,
                  precision: str = "fp16", force: bool = False) -> Path:
    """Path of an engine for this GPU / TensorRT / precision / ONNX, built if needed
    (``force``: rebuild even when a matching one is cached)."""
    want = wanted_meta(onnx_path, profiles, precision)
    path = Path(cache_dir) / f"{Path(onnx_path).stem}-{want.key()}.engine"
    if path.exists() and not force:
        try:
            read_engine(path, want)
            return path
        except ModelFileError as exc:
            log.warning("%s; rebuilding", exc)
    log.info("building TensorRT engine %s (%s), this takes a while", path.name, precision)
    write_engine(path, want, build_engine(onnx_path, profiles, precision))
    return path


class TrtBackend(Backend):
    """A cached engine. ``infer`` (host arrays) copies through pycuda; ``infer_device`` runs on
    torch's tensors and CUDA stream (the device pipeline), without pycuda."""

    def __init__(self, engine_path: Path, want: EngineMeta | None = None) -> None:
        trt = _trt()
        self._cuda = None  # pycuda, loaded by the first host `infer`
        self.path = Path(engine_path)
        _, blob = read_engine(self.path, want)
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine = self._runtime.deserialize_cuda_engine(blob)
        if self._engine is None:
            raise ModelFileError(f"TensorRT could not deserialize {self.path}: delete it and "
                                 "let the cache build it again")
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        mode = trt.TensorIOMode.INPUT

        def spec(n: str) -> TensorSpec:
            shape = tuple(d if d >= 0 else f"d{i}"
                          for i, d in enumerate(self._engine.get_tensor_shape(n)))
            return TensorSpec(n, shape, np.dtype(trt.nptype(
                self._engine.get_tensor_dtype(n))).name)
        self._inputs = tuple(spec(n) for n in names if self._engine.get_tensor_mode(n) == mode)
        self._outputs = tuple(spec(n) for n in names if self._engine.get_tensor_mode(n) != mode)

    def _host_cuda(self):
        if self._cuda is None:
            importlib.import_module("pycuda.autoinit")  # creates the CUDA context
            import pycuda.driver as cuda

            self._cuda = cuda
            self._stream = cuda.Stream()
        return self._cuda

    def infer_device(self, feeds: dict[str, Any], outputs: dict[str, Any]) -> None:
        import torch

        ctx = self._context
        for spec in self._inputs:
            t = feeds[spec.name]
            ctx.set_input_shape(spec.name, tuple(t.shape))
            ctx.set_tensor_address(spec.name, t.data_ptr())
        for spec in self._outputs:
            t = outputs[spec.name]
            if tuple(ctx.get_tensor_shape(spec.name)) != tuple(t.shape):
                raise ValueError(f"{self.path.name}: output {spec.name!r} is "
                                 f"{tuple(ctx.get_tensor_shape(spec.name))}, the buffer "
                                 f"{tuple(t.shape)}")
            ctx.set_tensor_address(spec.name, t.data_ptr())
        if not ctx.execute_async_v3(torch.cuda.current_stream().cuda_stream):
            raise RuntimeError(f"TensorRT could not run {self.path.name}")

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.check_feeds(feeds)
        cuda, ctx = self._host_cuda(), self._context
        keep = []
        for spec in self._inputs:
            host = np.ascontiguousarray(feeds[spec.name])
            ctx.set_input_shape(spec.name, host.shape)
            dev = cuda.to_device(host)
            keep.append(dev)
            ctx.set_tensor_address(spec.name, int(dev))
        outs = {}
        for spec in self._outputs:
            host = np.empty(tuple(ctx.get_tensor_shape(spec.name)), np.dtype(spec.dtype))
            dev = cuda.mem_alloc(host.nbytes)
            keep.append(dev)
            ctx.set_tensor_address(spec.name, int(dev))
            outs[spec.name] = (host, dev)
        ctx.execute_async_v3(self._stream.handle)
        for host, dev in outs.values():
            cuda.memcpy_dtoh_async(host, dev, self._stream)
        self._stream.synchronize()
        return {k: v[0] for k, v in outs.items()}
