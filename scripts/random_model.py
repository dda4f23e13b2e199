"""Write a PPCE model folder with random weights, for timing only (``streamedit bench
--model-dir``): its speed is the architecture's, its maps are meaningless.

    python scripts/random_model.py --backbone dinov2_vits14 -o /tmp/dinov2-random
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from streamedit_build.model import PPCE, ModelConfig, save_checkpoint
from streamedit_build.onnx_export import export_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="dinov2_vits14", help="portrait or dinov2_vits14")
    parser.add_argument("--side", type=int, default=256, help="model side, px (default 256)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to write")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    torch.manual_seed(0)
    model = PPCE(ModelConfig(backbone=args.backbone, side=args.side)).eval()
    save_checkpoint(args.output / "random.pt", model, None, 0, {"random": True})
    export_model(model, args.output, {"random_weights": True})
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
