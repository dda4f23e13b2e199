"""The array side and the correspondence estimator an :class:`EditorConfig` asks for.

The one place that turns a parsed :class:`~streamedit_sdk.config.Placement` into objects: the
host side or a torch side, the weight-free flow estimator or PPCE with the networks on the
placement's runtime and the initial map's refiner that suits the side.
"""

from __future__ import annotations

from pathlib import Path

from streamedit_sdk.config import EditorConfig, Placement, placement
from streamedit_sdk.correspondence.base import CorrespondenceModel
from streamedit_sdk.correspondence.flow import FlowCorrespondence
from streamedit_sdk.correspondence.model_folder import ModelInfo, open_networks, shipped_model_dir
from streamedit_sdk.correspondence.ppce import PPCECorrespondence
from streamedit_sdk.correspondence.refiners import (DisRefiner, IdentityRefiner, InitialRefiner,
                                                    PyramidRefiner)
from streamedit_sdk.sides import open_side
from streamedit_sdk.sides.base import ArrayOps
from streamedit_sdk.timing import NullTimer, Timer


def open_correspondence(config: EditorConfig, timer: Timer | None = None
                        ) -> tuple[ArrayOps, CorrespondenceModel]:
    """(array side, estimator) for ``config``; ``timer`` receives the estimator's stages."""
    timer = timer or NullTimer()
    xp = open_side(config.placement, config.num_threads)
    if config.estimator == "flow":  # host only (EditorConfig checks)
        return xp, FlowCorrespondence(config.flow_preset, config.sigma_window,
                                      config.sigma_floor, timer=timer,
                                      lk_iterations=config.lk_iterations)
    return xp, open_ppce(config.model_dir, placement=config.placement, xp=xp,
                         threads=config.num_threads, timer=timer,
                         cuda_graphs=config.cuda_graphs)


def open_ppce(model_dir: str | Path | None = None, *, placement: Placement = placement("ort-cpu"),
              xp: ArrayOps | None = None, threads: int = 0, timer: Timer | None = None,
              cuda_graphs: bool = True) -> PPCECorrespondence:
    """PPCE from ``model_dir`` (default: the shipped model), its networks where ``placement``
    says, on the side ``xp`` (default: the placement's own). ``threads``: onnxruntime and C++
    kernel threads (0: all cores); ``cuda_graphs``: replay each frame's match as a CUDA graph
    (torch on CUDA only: onnxruntime and TensorRT synchronise inside a run)."""
    timer = timer or NullTimer()
    xp = xp or open_side(placement, threads)
    info = ModelInfo.load(model_dir or shipped_model_dir())
    backbone, head = open_networks(info, placement, threads)
    refiner: InitialRefiner
    if placement.tensors:
        refiner = PyramidRefiner(xp, timer)
    elif info.init_preset == "none":
        refiner = IdentityRefiner()
    else:
        refiner = DisRefiner(info.init_preset, info.init_lk, timer)
    graphed = None
    if cuda_graphs and placement.device == "cuda" and placement.runtime == "torch":
        from streamedit_sdk.sides.graphs import GraphedFunction  # torch
        graphed = GraphedFunction
    return PPCECorrespondence(xp, info, backbone, head, refiner, timer, graphed)
