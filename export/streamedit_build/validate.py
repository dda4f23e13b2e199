"""Validation during training: reconstruction of held-out frames, scored as the runtime works.

Pairs from clips held out of training, ``GAPS`` frames apart. The runtime's path is replayed:
the initial map at work size (512 px), the networks at the model side, their correction
upsampled and added to the work-size map; PSNR of the reference warped by it at work size.
Scored beside it on the same pairs: the initial map alone and DIS at preset MEDIUM (the
baseline the quality bar names). Sigma's rank correlation with the actual error is reported at
the model side.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from streamedit_sdk.apps.metrics import psnr, spearman
from streamedit_sdk.maps import identity_map, resize_map
from streamedit_sdk.perception.landmarks import face_hull_mask
from streamedit_sdk.sides.host import HostOps

from . import losses
from .data import ClipFrames, PairMaker
from .model import PPCE

GAPS = (1, 5, 25, 50, 100)


@dataclass(frozen=True)
class ValPair:
    """One pair: work-size frames and initial map, model-side inputs, baseline scores."""

    cur: np.ndarray
    ref: np.ndarray
    init: np.ndarray
    small_cur: np.ndarray
    small_ref: np.ndarray
    small_init: np.ndarray
    small_face: np.ndarray
    psnr_init: float
    psnr_dis_medium: float


def _warp(ref: np.ndarray, corr: np.ndarray) -> np.ndarray:
    return cv2.remap(ref, corr, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class ValidationSet:
    pairs: list[ValPair]

    @classmethod
    def build(cls, work_clips: list[ClipFrames], small_clips: list[ClipFrames], preset: str,
              lk: int, starts: int = 4) -> "ValidationSet":
        init_maker = PairMaker(preset, lk)
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        out = []
        for work, small in zip(work_clips, small_clips):
            hs, ws = small.frames.shape[1:3]
            for gap in GAPS:
                if gap >= len(work):
                    continue
                for a in np.linspace(0, len(work) - 1 - gap, starts).astype(int):
                    i_ref, i_cur = int(a), int(a) + gap
                    cur, ref = work.frames[i_cur], work.frames[i_ref]
                    init, _ = init_maker.initial(cur, ref, work.face(i_cur), work.face(i_ref))
                    h, w = cur.shape[:2]
                    gc = cv2.cvtColor(cur, cv2.COLOR_RGB2GRAY)
                    gr = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY)
                    base = identity_map(h, w) + dis.calc(gc, gr, None)  # as eval's baseline
                    lm = small.face(i_cur)
                    face = (np.zeros((hs, ws), np.float32) if lm is None
                            else face_hull_mask(lm, ws, hs).astype(np.float32))
                    out.append(ValPair(cur, ref, init, small.frames[i_cur], small.frames[i_ref],
                                       resize_map(init, ws, hs), face,
                                       psnr(_warp(ref, init), cur),
                                       psnr(_warp(ref, base), cur)))
        if not out:
            raise ValueError("validation clips are too short for any pair")
        return cls(out)


def _tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()


HOST = HostOps(1)


@torch.no_grad()
def validate(model: PPCE, val: ValidationSet) -> dict[str, float]:
    """Mean PSNR (dB, at work size) of the initial map, the model and DIS MEDIUM; the model's
    gain over its initial map and over DIS MEDIUM; sigma's Spearman correlation."""
    model.eval()
    scores, rhos = [], []
    rng = np.random.default_rng(0)
    for p in val.pairs:
        cur, ref = _tensor(p.small_cur) / 255.0, _tensor(p.small_ref) / 255.0
        init = _tensor(p.small_init)
        face = torch.from_numpy(p.small_face)[None, None]
        pred, log_sigma = model(cur, ref, init, face)
        h, w = p.init.shape[:2]
        correction = pred[0].permute(1, 2, 0).numpy() - p.small_init
        final = p.init + HOST.scale_displacement(correction, w, h)  # as the runtime does
        scores.append(psnr(_warp(p.ref, final), p.cur))
        warped, _ = losses.warp(ref, pred)
        err = (warped - cur).abs().mean(1)[0].numpy().ravel()
        sig = log_sigma[0, 0].numpy().ravel()
        pick = rng.choice(err.size, min(4096, err.size), replace=False)
        rhos.append(spearman(sig[pick], err[pick]))
    m = {"psnr_init": float(np.mean([p.psnr_init for p in val.pairs])),
         "psnr_model": float(np.mean(scores)),
         "psnr_dis_medium": float(np.mean([p.psnr_dis_medium for p in val.pairs])),
         "sigma_spearman": float(np.nanmean(rhos))}
    m["psnr_gain"] = m["psnr_model"] - m["psnr_init"]
    m["psnr_vs_dis_medium"] = m["psnr_model"] - m["psnr_dis_medium"]
    return m
