"""Export: typed pure functions from a trained PPCE to ``backbone.onnx`` + ``head.onnx``.

Two networks, because reference features are computed once per reference and the head runs
every frame. One spec class per network holds its tensor names, dynamic axes and the
min / opt / max frame sizes that the TensorRT profiles use. ``model.json`` beside them records
the architecture and the initial-map preset the runtime must use. The specs live in the runtime
(``streamedit_sdk.netspec``): it builds TensorRT profiles from them without torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from streamedit_sdk.backends.netspec import BACKBONE_SPEC, HEAD_SPEC, NetworkSpec

from .model import PPCE, luminance

log = logging.getLogger(__name__)

OPSET = 17
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ExportedModel:
    """Paths of one export (what the runtime's ``PPCECorrespondence`` loads)."""

    backbone: Path
    head: Path
    meta: Path


def example_inputs(model: PPCE, height: int = 256, width: int = 192
                   ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Random but plausible inputs: (image, head inputs) for tracing and parity checks."""
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, height, width, generator=g)
    ref = torch.rand(1, 3, height, width, generator=g)
    with torch.no_grad():
        f_cur, f_ref = model.backbone(image), model.backbone(ref)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32),
                            torch.arange(width, dtype=torch.float32), indexing="ij")
    init = torch.stack([xs, ys])[None] + 3.0 * torch.randn(1, 2, 1, 1, generator=g)
    face = torch.zeros(1, 1, height, width)
    face[..., height // 4:3 * height // 4, width // 4:3 * width // 4] = 1
    return image, (f_cur, f_ref, init, face, luminance(image), luminance(ref))


def export_backbone(model: PPCE, path: Path, opset: int = OPSET) -> Path:
    """Write the backbone: image (1, 3, H, W) RGB 0..1 -> features (1, C, H/s, W/s)."""
    image, _ = example_inputs(model)
    _export(model.backbone, (image,), path, BACKBONE_SPEC, opset)
    return path


def export_head(model: PPCE, path: Path, opset: int = OPSET) -> Path:
    """Write the head (inputs and outputs as documented in ``head.py``)."""
    _, inputs = example_inputs(model)
    _export(model.head, inputs, path, HEAD_SPEC, opset)
    return path


def export_torchscript(model: PPCE, out_dir: Path) -> tuple[Path, Path]:
    """Write ``backbone.torchscript`` and ``head.torchscript``: the networks traced for the
    runtime's torch backends, which load them without this package (sizes stay dynamic: the
    trace records shapes as operations, checked against the modules at other sizes by the
    tests)."""
    image, inputs = example_inputs(model)
    paths = []
    for net, args, name in ((model.backbone, (image,), "backbone"), (model.head, inputs, "head")):
        path = Path(out_dir) / f"{name}.torchscript"
        tmp = path.with_suffix(".tmp")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.jit.save(torch.jit.trace(net.eval(), args), str(tmp))
        tmp.replace(path)
        paths.append(path)
    return paths[0], paths[1]


def export_model(model: PPCE, out_dir: str | Path, extra_meta: dict | None = None,
                 opset: int = OPSET) -> ExportedModel:
    """Write backbone.onnx, head.onnx, their TorchScript twins and model.json into
    ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    b = export_backbone(model, out / "backbone.onnx", opset)
    h = export_head(model, out / "head.onnx", opset)
    scripts = export_torchscript(model, out)
    meta = {"format": FORMAT_VERSION, "opset": opset,
            "config": dataclasses.asdict(model.config),
            "channels": model.backbone.channels, "stride": model.backbone.stride,
            "sha256": {p.name: _sha256(p) for p in (b, h, *scripts)}, **(extra_meta or {})}
    meta_path = out / "model.json"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    log.info("exported %s (%.1f MB)", out, (b.stat().st_size + h.stat().st_size) / 1e6)
    return ExportedModel(b, h, meta_path)


def _export(net: nn.Module, args: tuple[torch.Tensor, ...], path: Path, spec: NetworkSpec,
            opset: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter: it needs no onnxscript and handles these ops at opset 17
        # (its deprecation notice and constant-folding remarks are not the user's business)
        warnings.simplefilter("ignore", (UserWarning, DeprecationWarning, FutureWarning))
        torch.onnx.export(net, args, str(tmp), input_names=list(spec.inputs),
                          output_names=list(spec.outputs), dynamic_axes=spec.dynamic_axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    tmp.replace(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Parity:
    """Largest |onnxruntime - torch| over the checked sizes."""

    features: float
    map_px: float
    log_sigma: float

    def ok(self, map_tol: float = 0.05, sigma_tol: float = 1e-3) -> bool:
        return self.map_px < map_tol and self.log_sigma < sigma_tol


def check_parity(model: PPCE, exported: ExportedModel,
                 sizes: tuple[tuple[int, int], ...] = ((256, 256), (144, 256), (256, 176))
                 ) -> Parity:
    """Run both networks in onnxruntime (CPU) and torch on the same inputs at ``sizes``
    (h, w), the head on the ONNX backbone's features."""
    import onnxruntime as ort

    model = model.eval()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    bb = ort.InferenceSession(str(exported.backbone), opts, providers=["CPUExecutionProvider"])
    hd = ort.InferenceSession(str(exported.head), opts, providers=["CPUExecutionProvider"])
    worst = [0.0, 0.0, 0.0]
    for h, w in sizes:
        image, inputs = example_inputs(model, h, w)
        with torch.no_grad():
            f_torch = model.backbone(image).numpy()
            m_torch, s_torch = (t.numpy() for t in model.head(*inputs))
        f_ort = bb.run(None, {"image": image.numpy()})[0]
        feeds = dict(zip(HEAD_SPEC.inputs, (t.numpy() for t in inputs)))
        m_ort, s_ort = hd.run(None, feeds)
        worst[0] = max(worst[0], float(abs(f_ort - f_torch).max()))
        worst[1] = max(worst[1], float(abs(m_ort - m_torch).max()))
        worst[2] = max(worst[2], float(abs(s_ort - s_torch).max()))
    return Parity(*worst)
