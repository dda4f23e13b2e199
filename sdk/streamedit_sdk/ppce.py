"""The learned correspondence (PPCE) at run time: two ONNX networks, no torch.

``backbone.onnx`` encodes a frame into features (the reference's are computed once per
reference); ``head.onnx`` refines the initial map (landmark warp, refined by DIS at the preset
the model was trained with) by cross-attention and predicts log-sigma (paper §3.1, eq. 2's
Laplace scale). The networks run at the model's side (``model.json``: ``side``, 256 px for
the shipped model); their correction and sigma are upsampled to the work size and the
correction is added to the work-size initial map, so the classical flow's detail is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from .backends import Backend, ModelFileError, open_network
from .correspondence import Correspondence, FlowCorrespondence, ReferenceFeatures
from .frames import resize_to, work_size
from .landmarks import face_hull_mask
from .netspec import profiles
from .ops import resize_map
from .timing import NullTimer, Timer

log = logging.getLogger(__name__)

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
            want = meta.get("sha256", {}).get(name)
            if verify and want and hashlib.sha256(path.read_bytes()).hexdigest() != want:
                raise ModelFileError(f"model file {path} is corrupt (its sha256 differs from "
                                     "model.json): reinstall streamedit-sdk or export again")
        return info


@dataclass(frozen=True)
class PPCEReference(ReferenceFeatures):
    """Per-reference cache (the model side is hs x ws): small_gray: (1, 1, hs, ws) float32 0..1;
    features: (1, C, hs/stride, ws/stride) float32."""

    small_gray: np.ndarray
    features: np.ndarray


def _chw(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) * (1 / 255)


def _gray(rgb: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1 / 255)
    return g[None, None]


def upsample_correction(pred_small: np.ndarray, init_small: np.ndarray, init: np.ndarray
                        ) -> np.ndarray:
    """Work-size map from the networks' map at the model side: the work-size initial map plus
    the networks' correction (``pred_small - init_small``), upsampled bilinearly and scaled to
    work px. All maps (h, w, 2) float32 reference px at their own size."""
    h, w = init.shape[:2]
    hs, ws = init_small.shape[:2]
    delta = cv2.resize(pred_small - init_small, (w, h), interpolation=cv2.INTER_LINEAR)
    delta *= np.array([w / ws, h / hs], np.float32)
    return init + delta


def open_networks(info: ModelInfo, backend: str, threads: int = 0) -> tuple[Backend, Backend]:
    """(backbone, head) of a model folder on ``backend``, with its TensorRT profiles."""
    nets = profiles(info.meta)
    return tuple(open_network(backend, info.folder / name, threads=threads,
                              profiles=nets[name]) for name in ("backbone.onnx", "head.onnx"))


def face_at_side(landmarks: np.ndarray | None, w: int, h: int, sw: int, sh: int) -> np.ndarray:
    """(sh, sw) float32 1 inside the hull of ``landmarks`` (work px of a w x h frame) drawn at
    the model side, pixel centres aligned as resize_map does; all 0 without landmarks. The
    head's ``face`` input, as in training (a quarter of the work frame's pixels to fill)."""
    if landmarks is None:
        return np.zeros((sh, sw), np.float32)
    small_lm = (landmarks + 0.5) * np.float32([sw / w, sh / h]) - 0.5
    return face_hull_mask(small_lm, sw, sh).astype(np.float32)


class PPCECorrespondence:
    """:class:`~streamedit_sdk.correspondence.CorrespondenceModel` backed by the PPCE networks.

    ``model_dir``: an exported model folder (default: the shipped generic model);
    ``backend``: "ort-cpu", "ort-cuda" or "trt"; ``threads``: onnxruntime intra-op threads.
    ``timer`` receives the stages ``flow`` (initial map), ``backbone`` and ``head``.
    """

    def __init__(self, model_dir: str | Path | None = None, backend: str = "ort-cpu",
                 threads: int = 0, timer: Timer | None = None) -> None:
        self.info = ModelInfo.load(model_dir or shipped_model_dir())
        self._timer = timer or NullTimer()
        self._init = (FlowCorrespondence(self.info.init_preset, timer=self._timer,
                                         lk_iterations=self.info.init_lk)
                      if self.info.init_preset != "none" else None)
        self._backbone, self._head = open_networks(self.info, backend, threads)

    def _small_size(self, h: int, w: int) -> tuple[int, int]:
        return work_size(w, h, self.info.side)

    def encode_reference(self, rgb: np.ndarray) -> PPCEReference:
        """rgb: (h, w, 3) uint8 reference at work size."""
        sw, sh = self._small_size(*rgb.shape[:2])
        small = resize_to(rgb, sw, sh)
        with self._timer.stage("backbone"):
            feats = self._backbone.infer({"image": _chw(small)})["features"]
        return PPCEReference(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), _gray(small), feats)

    def predict(self, rgb: np.ndarray, reference: ReferenceFeatures, init_map: np.ndarray,
                landmarks: np.ndarray | None = None) -> Correspondence:
        """rgb: (h, w, 3) uint8 current frame at work size; init_map: (h, w, 2) float32 ref
        px; landmarks: (478, 2) work px of the current frame, or None. Map and sigma at work
        size. The face mask the head takes is the landmarks' hull drawn at the model side, as
        in training (a quarter of the pixels of the work frame to fill and dilate)."""
        if not isinstance(reference, PPCEReference):
            raise TypeError("reference was encoded by another correspondence model")
        h, w = rgb.shape[:2]
        init = init_map
        if self._init is not None:
            init = self._init.refine(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), reference.gray,
                                     init_map)
        sw, sh = self._small_size(h, w)
        small = resize_to(rgb, sw, sh)
        init_small = resize_map(init, sw, sh)
        face_small = face_at_side(landmarks, w, h, sw, sh)
        with self._timer.stage("backbone"):
            feats = self._backbone.infer({"image": _chw(small)})["features"]
        with self._timer.stage("head"):
            out = self._head.infer({
                "feat_cur": feats, "feat_ref": reference.features,
                "init_map": np.ascontiguousarray(init_small.transpose(2, 0, 1)[None]),
                "face": face_small[None, None], "cur_gray": _gray(small),
                "ref_gray": reference.small_gray})
            corr = upsample_correction(out["map"][0].transpose(1, 2, 0), init_small, init)
            sigma = cv2.resize(np.exp(out["log_sigma"][0, 0]), (w, h),
                               interpolation=cv2.INTER_LINEAR)
        return Correspondence(corr, sigma)

    def close(self) -> None:
        self._backbone.close()
        self._head.close()

