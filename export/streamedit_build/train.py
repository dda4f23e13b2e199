"""Training (``streamedit train``) and per-video fitting (``streamedit fit``).

One loop serves both: batches mix synthetic pairs (a real frame warped by a known field) and
real pairs from one clip 1 to ``max_gap`` frames apart, whose target is the best-of classical
teacher's map (:mod:`.teacher`). Every pair is supervised by the end-point error to its target
(so training cannot collapse) and scored by the paper's photometric terms: Laplace NLL (eq. 2,
which also trains sigma), reconstruction and smoothness. Pairs are cropped and batched on a
worker thread while torch trains.
Checkpoints (``last.pt`` every ``checkpoint_every`` steps, ``best.pt`` at the best validation
score) make a run resumable: ``resume=True`` continues from ``last.pt`` with its optimizer,
step and random state.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from streamedit_sdk.perception.landmarks import face_hull_mask

from . import losses
from .data import ClipFrames, Pair, PairMaker
from .model import PPCE, ModelConfig, load_checkpoint, save_checkpoint
from .teacher import TeacherPairs
from .validate import ValidationSet, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """One training or fitting run."""

    out_dir: Path  # checkpoints and the training log go here
    steps: int = 3000  # optimizer steps
    batch: int = 8  # pairs per step
    crop: int = 160  # px square crop of the (model-side) frames
    lr: float = 1e-3  # peak AdamW learning rate (cosine decay, 100-step warm-up)
    synthetic_share: float = 0.25  # share of a batch that is synthetic (known flow)
    max_gap: int = 100  # real pairs are 1..max_gap frames apart
    w_recon: float = 1.0  # weight of the reconstruction term
    w_smooth: float = 0.05  # weight of the smoothness term
    w_epe: float = 1.0  # weight of the end-point error to the known / teacher map, per px
    checkpoint_every: int = 200  # steps between last.pt writes
    validate_every: int = 250  # steps between validations (0: never)
    seed: int = 0
    threads: int = 0  # torch threads (0: torch's default)
    resume: bool = False  # continue from out_dir/last.pt

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "crop", "max_gap", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.synthetic_share <= 1.0:
            raise ValueError(f"synthetic_share must be in [0, 1], got {self.synthetic_share}")


@dataclass
class TrainResult:
    """What a run did: steps, seconds, final and best validation (if any)."""

    steps: int
    seconds: float
    checkpoint: Path
    best_checkpoint: Path | None
    history: list[dict] = field(default_factory=list)


class _Batches:
    """Pairs made on a worker thread, cropped and stacked into torch batches.

    Real pairs come from the teacher pools (initial map and the teacher's map, precomputed at
    work size and resized to the model side); synthetic ones are made here (known map).
    """

    def __init__(self, clips: list[ClipFrames], pools: list[TeacherPairs], cfg: TrainConfig,
                 init: tuple[str, int], rng: np.random.Generator) -> None:
        by_name = {c.name: c for c in clips}
        self._pools = [(by_name[p.clip], p) for p in pools if p.clip in by_name and len(p.index)]
        self._clips = [c for c in clips if len(c) >= 1 and min(c.frames.shape[1:3]) >= cfg.crop]
        if not self._clips or not self._pools:
            raise ValueError(f"no training clip has frames of at least {cfg.crop} px and "
                             "teacher pairs: lower --crop or add clips")
        self._pools = [(c, p) for c, p in self._pools if min(c.frames.shape[1:3]) >= cfg.crop]
        self._cfg, self._rng = cfg, rng
        self._pool_w = np.array([len(p.index) for _, p in self._pools], float)
        self._pool_w /= self._pool_w.sum()
        self._clip_w = np.array([len(c) for c in self._clips], float)
        self._clip_w /= self._clip_w.sum()
        self._maker = PairMaker(*init)
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def next(self) -> dict[str, torch.Tensor]:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(0.05)

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self._make()
                while not self._stop.is_set():
                    try:
                        self._queue.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except Exception as exc:  # handed to the training thread, which raises it
            self._queue.put(exc)

    def _pair(self) -> Pair:
        rng = self._rng
        if rng.random() < self._cfg.synthetic_share:
            clip = self._clips[rng.choice(len(self._clips), p=self._clip_w)]
            return self._maker.synthetic(clip, int(rng.integers(len(clip))), rng)
        clip, pool = self._pools[rng.choice(len(self._pools), p=self._pool_w)]
        j = int(rng.integers(len(pool.index)))
        i_ref, i_cur = (int(v) for v in pool.index[j])
        lm = clip.face(i_cur)
        h, w = clip.frames.shape[1:3]
        face = (np.zeros((h, w), np.float32) if lm is None
                else face_hull_mask(lm, w, h).astype(np.float32))
        return Pair(clip.frames[i_cur], clip.frames[i_ref], pool.init[j].astype(np.float32),
                    face, pool.target[j].astype(np.float32))

    def _make(self) -> dict[str, torch.Tensor]:
        c = self._cfg.crop
        cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                             ("cur", "ref", "init", "face", "true")}
        for _ in range(self._cfg.batch):
            p = self._pair()
            h, w = p.cur.shape[:2]
            y0, x0 = int(self._rng.integers(h - c + 1)), int(self._rng.integers(w - c + 1))
            win = (slice(y0, y0 + c), slice(x0, x0 + c))
            shift = np.array([x0, y0], np.float32)  # maps point into the same crop of ref
            cols["cur"].append(p.cur[win])
            cols["ref"].append(p.ref[win])
            cols["init"].append(p.init_map[win] - shift)
            cols["face"].append(p.face[win])
            cols["true"].append(p.true_map[win] - shift)
        t = {k: torch.from_numpy(np.stack(v)) for k, v in cols.items()}
        return {"cur": t["cur"].permute(0, 3, 1, 2).float() / 255.0,
                "ref": t["ref"].permute(0, 3, 1, 2).float() / 255.0,
                "init": t["init"].permute(0, 3, 1, 2).contiguous(),
                "face": t["face"].unsqueeze(1),
                "true": t["true"].permute(0, 3, 1, 2).contiguous()}


def loss_terms(model: PPCE, b: dict[str, torch.Tensor], cfg: TrainConfig
               ) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss of one batch and its terms (floats, for the log).

    The map learns from its target (end-point error), the reconstruction and smoothness; sigma
    learns from the Laplace NLL of the residual the map leaves (detached: an uncertain pixel
    must not pull the map towards a lower photometric error by inflating its sigma)."""
    pred, log_sigma = model(b["cur"], b["ref"], b["init"], b["face"])
    resid, inside = losses.residual(b["cur"], b["ref"], pred)
    nll = losses.laplace_nll(resid.detach(), log_sigma, inside)
    recon = losses.reconstruction(resid, inside)
    smooth = losses.smoothness(pred - b["init"], b["cur"])
    _, true_inside = losses.warp(b["ref"], b["true"])
    epe = losses.end_point_error(pred, b["true"], true_inside)
    total = nll + cfg.w_recon * recon + cfg.w_smooth * smooth + cfg.w_epe * epe
    return total, {"loss": total.item(), "nll": nll.item(), "recon": recon.item(),
                   "smooth": smooth.item(), "epe": epe.item()}


def _lr_at(step: int, cfg: TrainConfig) -> float:
    warm = min(100, cfg.steps // 10 + 1)
    if step < warm:
        return cfg.lr * (step + 1) / warm
    t = (step - warm) / max(1, cfg.steps - warm)
    return 1e-5 + 0.5 * (cfg.lr - 1e-5) * (1 + math.cos(math.pi * t))


def train(clips: list[ClipFrames], pools: list[TeacherPairs], cfg: TrainConfig,
          model_config: ModelConfig | None = None, init_checkpoint: Path | None = None,
          val: ValidationSet | None = None, progress: bool = True,
          dinov2_weights: str | Path | None = None) -> TrainResult:
    """Train from scratch (``model_config``) or from ``init_checkpoint`` (fitting).

    ``clips``: frames at the model side; ``pools``: their teacher pairs (:mod:`.teacher`);
    ``dinov2_weights``: the user's DINOv2 file or folder when the backbone is DINOv2."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    last, best_path = out / "last.pt", out / "best.pt"
    if init_checkpoint is not None:
        model, _ = load_checkpoint(init_checkpoint)
    else:
        model = PPCE(model_config or ModelConfig(), dinov2_weights)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    step, history, best = 0, [], -math.inf
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    if cfg.resume and last.exists():
        model, ckpt = load_checkpoint(last)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
        opt.load_state_dict(ckpt["optimizer"])
        step = ckpt["step"]
        history = ckpt["extra"].get("history", [])
        best = ckpt["extra"].get("best", -math.inf)
        rng = np.random.default_rng([cfg.seed, step])
        log.info("resumed %s at step %d", last, step)
    meta = {"train_config": {k: str(v) for k, v in dataclasses.asdict(cfg).items()}}
    batches = _Batches(clips, pools, cfg, (model.config.init_preset, model.config.init_lk), rng)
    t0 = time.monotonic()
    seconds_before = history[-1]["seconds"] if history else 0.0
    bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", disable=not progress)
    try:
        model.train()
        while step < cfg.steps:
            for group in opt.param_groups:
                group["lr"] = _lr_at(step, cfg)
            total, terms = loss_terms(model, batches.next(), cfg)
            opt.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{terms['loss']:.3f}", epe=f"{terms['epe']:.2f}")
            entry = None
            if val is not None and cfg.validate_every and (
                    step % cfg.validate_every == 0 or step == cfg.steps):
                score = validate(model, val)
                model.train()
                entry = {"step": step, **terms, **score}
                if score["psnr_gain"] > best:
                    best = score["psnr_gain"]
                    save_checkpoint(best_path, model, None, step, {**meta, "validation": score})
                log.info("step %d: %s", step, " ".join(f"{k}={v:.4g}" for k, v in score.items()))
            if entry is not None or step % cfg.checkpoint_every == 0 or step == cfg.steps:
                if entry is None:
                    entry = {"step": step, **terms}
                entry["seconds"] = seconds_before + time.monotonic() - t0
                history.append(entry)
                save_checkpoint(last, model, opt, step, {**meta, "history": history,
                                                         "best": best})
    finally:
        bar.close()
        batches.close()
    seconds = seconds_before + time.monotonic() - t0
    return TrainResult(step, seconds, last, best_path if best_path.exists() else None, history)
