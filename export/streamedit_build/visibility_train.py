"""Training, validation and ONNX export of the visibility network (:mod:`.visibility_net`).

Samples are made once (:mod:`.visibility_data`: occluders composited over the training
clips, exact masks) and the network trained on them with flips; validation samples come from
held-out clips only. The network is scored against the classical residual signal
(:func:`streamedit_sdk.core.visibility.residual`) on the same validation samples: ROC AUC
over the face, IoU of the hidden region (at 0.5), and the share of the face called hidden on
samples with no occluder (false alarms: a sticker that vanishes on a clean frame).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from streamedit_sdk.apps.eval.occlusion import roc_auc
from streamedit_sdk.core.visibility import NET_SIDE, residual

from .data import ClipFrames
from .visibility_data import Batch, batch_of
from .visibility_net import VisibilityNet

log = logging.getLogger(__name__)

NET_FILE = "visibility.onnx"
IOD_IN_BOX = NET_SIDE / 2.9  # px: about the inter-ocular distance in the resized face box


@dataclass(frozen=True)
class VisibilityTrainConfig:
    """How the visibility network is trained."""

    out_dir: Path  # where visibility.onnx, model.json and the checkpoint go
    steps: int = 4000  # optimizer steps
    batch: int = 32  # samples per step
    lr: float = 2e-3  # peak learning rate (cosine decay)
    samples: int = 8000  # training samples made up front
    val_samples: int = 600  # validation samples (held-out clips)
    validate_every: int = 500  # steps between validations (the best is kept)
    threads: int = 0  # torch threads (0: all cores)
    seed: int = 0


def scores(hidden: np.ndarray, batch: Batch) -> dict:
    """AUC and IoU of ``hidden`` ((N, 1, S, S) 0..1) against the batch's masks over the face,
    and the false alarms: the share of the face called hidden where no occluder is."""
    face = batch.w > 0.5
    truth = batch.y > 0.5
    auc = roc_auc(hidden[face], truth[face])
    called = (hidden >= 0.5) & face
    inter = np.count_nonzero(called & truth)
    union = np.count_nonzero(called | (truth & face))
    clean = ~truth.reshape(len(truth), -1).any(axis=1)
    false = (np.count_nonzero(called[clean]) / max(np.count_nonzero(face[clean]), 1)
             if clean.any() else None)
    return {"auc": auc, "iou": inter / union if union else None, "false_alarm": false}


def classical(batch: Batch, low: float = 12.0, high: float = 28.0) -> np.ndarray:
    """The residual signal on the same samples: 0..1 ramp between ``low`` and ``high`` grey
    levels (the runtime's residual thresholds), (N, 1, S, S)."""
    out = np.zeros(batch.y.shape, np.float32)
    for i, x in enumerate(batch.x):
        frame = ((x[:3].transpose(1, 2, 0) + 0.5) * 255).clip(0, 255).astype(np.uint8)
        seen = ((x[3:6].transpose(1, 2, 0) + 0.5) * 255).clip(0, 255).astype(np.uint8)
        r = residual(frame, seen, IOD_IN_BOX)
        out[i, 0] = np.clip((r - low) / (high - low), 0.0, 1.0)
    return out


def _predict(model: VisibilityNet, batch: Batch, chunk: int = 64) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(batch.x), chunk):
            out.append(torch.sigmoid(model(torch.from_numpy(batch.x[i:i + chunk]))).numpy())
    model.train()
    return np.concatenate(out)


def train_visibility(train: list[ClipFrames], val: list[ClipFrames],
                     cfg: VisibilityTrainConfig, progress=None, sample_progress=None) -> dict:
    """Train, keep the best validation IoU, export ONNX; returns the report (also written to
    ``model.json`` beside the network). ``sample_progress(1)`` per sample made (training,
    then validation: ``cfg.samples + cfg.val_samples``), ``progress(1)`` per step."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.perf_counter()
    data = batch_of(train, cfg.samples, rng, progress=sample_progress)
    val_batch = batch_of(val, cfg.val_samples, np.random.default_rng(cfg.seed + 1),
                         progress=sample_progress)
    made = time.perf_counter() - t0
    log.info("visibility samples: %d train, %d validation, made in %.0f s", cfg.samples,
             cfg.val_samples, made)
    model = VisibilityNet()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps,
                                                pct_start=0.1)
    x_all, y_all, w_all = (torch.from_numpy(a) for a in (data.x, data.y, data.w))
    best, best_state, history = -1.0, None, []
    for step in range(1, cfg.steps + 1):
        idx = torch.from_numpy(rng.integers(0, len(x_all), cfg.batch))
        x, y, w = x_all[idx], y_all[idx], w_all[idx]
        if rng.random() < 0.5:
            x, y, w = x.flip(3), y.flip(3), w.flip(3)
        logits = model(x)
        bce = (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * w).sum() / (
            w.sum() + 1e-6)
        p = torch.sigmoid(logits) * w
        dice = 1 - (2 * (p * y).sum() + 1) / (p.sum() + (y * w).sum() + 1)
        loss = bce + 0.5 * dice
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None:
            progress(1)
        if step % cfg.validate_every == 0 or step == cfg.steps:
            s = scores(_predict(model, val_batch), val_batch)
            history.append({"step": step, "loss": loss.item(), **s})
            log.info("visibility step %d: loss %.4f, validation %s", step, loss.item(), s)
            if (s["iou"] or 0.0) > best:
                best = s["iou"] or 0.0
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    net = scores(_predict(model, val_batch), val_batch)
    base = scores(classical(val_batch), val_batch)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    path = export_visibility(model, cfg.out_dir / NET_FILE)
    report = {"format": 1, "side": NET_SIDE, "net": NET_FILE,
              "sha256": {NET_FILE: hashlib.sha256(path.read_bytes()).hexdigest()},
              "validation": {"network": net, "classical_residual": base},
              "train_clips": [c.name for c in train], "val_clips": [c.name for c in val],
              "config": {k: str(v) if isinstance(v, Path) else v
                         for k, v in asdict(cfg).items()},
              "seconds": {"samples": round(made), "total": round(time.perf_counter() - t0)},
              "history": history}
    (cfg.out_dir / "model.json").write_text(json.dumps(report, indent=2) + "\n")
    torch.save(model.state_dict(), cfg.out_dir / "visibility.pt")
    return report


def export_visibility(model: VisibilityNet, path: Path) -> Path:
    """ONNX (opset 17) of ``model``, checked against torch with onnxruntime."""
    import onnxruntime as ort

    model.eval()
    x = torch.randn(1, 7, NET_SIDE, NET_SIDE)
    torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["hidden"],
                      opset_version=17, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    if not np.allclose(got, want, atol=1e-4):
        raise RuntimeError(f"the exported visibility network differs from torch by "
                           f"{np.abs(got - want).max():.2e}")
    return path
