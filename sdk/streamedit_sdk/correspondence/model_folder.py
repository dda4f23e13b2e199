"""The exported model folder: ``model.json`` (format, side, stride, channels, the initial map's
settings, sha256 of each network) beside ``backbone.onnx`` and ``head.onnx``, and the TorchScript
files the torch backend loads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from streamedit_sdk.backends import Backend, open_network
from streamedit_sdk.backends.base import check_sha256
from streamedit_sdk.backends.netspec import profiles
from streamedit_sdk.config import Placement
from streamedit_sdk.errors import ModelFileError

MODEL_FORMAT = 1


def shipped_model_dir() -> Path:
    """The generic model inside the package (``streamedit_sdk/models/generic``)."""
    return Path(str(resources.files("streamedit_sdk") / "models" / "generic"))


@dataclass(frozen=True)
class ModelInfo:
    """``model.json`` of an exported model folder."""

    folder: Path
    side: int  # px, longest side of the frame the networks see
    stride: int  # backbone stride, px
    channels: int  # feature channels
    init_preset: str  # DIS preset for the initial map ("none": landmark map alone)
    init_lk: int  # Lucas-Kanade steps after DIS in the initial map
    meta: dict

    @classmethod
    def load(cls, folder: str | Path, verify: bool = True) -> "ModelInfo":
        """Read and check a model folder; ``verify`` compares the ONNX files' sha256 with
        model.json (a truncated or corrupted file is refused here, not mid-stream)."""
        folder = Path(folder)
        meta_path = folder / "model.json"
        if not meta_path.is_file():
            raise ModelFileError(f"{folder} is not a PPCE model folder: model.json is missing "
                                 "(give the folder `streamedit export` or `fit` wrote)")
        try:
            meta = json.loads(meta_path.read_text())
            cfg = meta["config"]
            info = cls(folder, int(cfg["side"]), int(meta["stride"]), int(meta["channels"]),
                       str(cfg["init_preset"]), int(cfg.get("init_lk", 0)), meta)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(f"{meta_path} is corrupt ({exc}): export the model "
                                 "again") from exc
        if meta.get("format") != MODEL_FORMAT:
            raise ModelFileError(f"{meta_path} has format {meta.get('format')}, this SDK "
                                 f"reads format {MODEL_FORMAT}: export the model again")
        for name in ("backbone.onnx", "head.onnx"):
            path = folder / name
            if not path.is_file():
                raise ModelFileError(f"model file {path} is missing: export the model again")
            if verify:
                check_sha256(path, meta.get("sha256", {}).get(name))
        return info


def open_networks(info: ModelInfo, placement: Placement, threads: int = 0
                  ) -> tuple[Backend, Backend]:
    """(backbone, head) of a model folder where ``placement`` says, with its TensorRT
    profiles."""
    nets = profiles(info.meta)
    return tuple(open_network(placement, info.folder / name, threads=threads,
                              profiles=nets[name]) for name in ("backbone.onnx", "head.onnx"))
