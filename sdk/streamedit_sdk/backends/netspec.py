"""The two PPCE networks' interfaces: tensor names, dynamic axes, TensorRT profile shapes.

Shared by the exporter (``export/streamedit_build``, torch) and the runtime's TensorRT backend
(no torch), so both agree on the names and shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

Shapes = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


@dataclass(frozen=True)
class NetworkSpec:
    """Names, dynamic axes and profile shapes of one exported network.

    ``shapes``: input name -> (min, opt, max) shapes for a frame from min_hw to max_hw.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dynamic_axes: dict[str, dict[int, str]]

    def shapes(self, channels: int, stride: int, min_hw: tuple[int, int] = (64, 64),
               opt_hw: tuple[int, int] = (256, 256), max_hw: tuple[int, int] = (256, 256)
               ) -> Shapes:
        """(min, opt, max) shape of every input for frames of min_hw..max_hw (h, w) px."""
        def shape(name: str, hw: tuple[int, int]) -> tuple[int, ...]:
            h, w = hw
            fh, fw = -(-h // stride), -(-w // stride)
            return {"image": (1, 3, h, w), "feat_cur": (1, channels, fh, fw),
                    "feat_ref": (1, channels, fh, fw), "init_map": (1, 2, h, w),
                    "face": (1, 1, h, w), "cur_gray": (1, 1, h, w),
                    "ref_gray": (1, 1, h, w)}[name]
        return {n: (shape(n, min_hw), shape(n, opt_hw), shape(n, max_hw)) for n in self.inputs}


BACKBONE_SPEC = NetworkSpec(
    "backbone", ("image",), ("features",),
    {"image": {2: "height", 3: "width"}, "features": {2: "fh", 3: "fw"}})
HEAD_SPEC = NetworkSpec(
    "head", ("feat_cur", "feat_ref", "init_map", "face", "cur_gray", "ref_gray"),
    ("map", "log_sigma"),
    {"feat_cur": {2: "fh", 3: "fw"}, "feat_ref": {2: "fh", 3: "fw"},
     "init_map": {2: "height", 3: "width"}, "face": {2: "height", 3: "width"},
     "cur_gray": {2: "height", 3: "width"}, "ref_gray": {2: "height", 3: "width"},
     "map": {2: "height", 3: "width"}, "log_sigma": {2: "height", 3: "width"}})




def profiles(meta: dict) -> dict[str, Shapes]:
    """Network file name -> TensorRT profile for a model folder's ``model.json``: frames from
    64x64 up to the model side square, optimal at the side."""
    side, ch, stride = int(meta["config"]["side"]), int(meta["channels"]), int(meta["stride"])
    kw = {"min_hw": (64, 64), "opt_hw": (side, side), "max_hw": (side, side)}
    return {"backbone.onnx": BACKBONE_SPEC.shapes(ch, stride, **kw),
            "head.onnx": HEAD_SPEC.shapes(ch, stride, **kw)}
