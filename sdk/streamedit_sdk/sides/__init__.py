"""Where the per-frame arrays live: :mod:`.base` is the protocol the editor's operations are
written against, :mod:`.host` runs it with numpy, OpenCV and the C++ kernels, :mod:`.torch` with
torch tensors and the CUDA kernels (imported only for the torch-based placements)."""

from __future__ import annotations

from streamedit_sdk.config import Placement
from streamedit_sdk.sides.base import ArrayOps
from streamedit_sdk.sides.host import HostOps


def open_side(placement: Placement, threads: int = 0) -> ArrayOps:
    """The side a placement's frame path runs on: the host, or torch tensors on the GPU (or
    on the CPU for torch there, the GPU path's reference). ``threads``: C++ kernel threads."""
    if not placement.tensors:
        return HostOps(threads)
    from streamedit_sdk.sides.torch import TorchOps  # torch: only for these placements

    return TorchOps("cuda" if placement.device == "cuda" else "cpu", threads)
