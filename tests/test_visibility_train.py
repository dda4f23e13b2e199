"""``streamedit train-visibility``'s parts: samples with exact labels, a short training run,
the export the runtime loads (its SHA-256 checked) and its scores against the classical
signal."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the build side needs torch (pip install '.[train]')")

from streamedit_build.data import ClipFrames  # noqa: E402
from streamedit_build.visibility_data import batch_of  # noqa: E402
from streamedit_build.visibility_net import VisibilityNet  # noqa: E402
from streamedit_build.visibility_train import (VisibilityTrainConfig,  # noqa: E402
                                               train_visibility)

from streamedit_sdk.apps import synthetic  # noqa: E402
from streamedit_sdk.apps.eval.carriers import mesh_truth  # noqa: E402
from streamedit_sdk.core.visibility import NET_SIDE, OcclusionNet  # noqa: E402


@pytest.fixture(scope="module")
def clip():
    frames = synthetic.clip(12)[0]
    truth = mesh_truth(frames, 512)
    lm = np.stack([t if t is not None else np.full((478, 2), np.nan) for t in truth])
    return ClipFrames("portrait", np.stack(frames), lm.astype(np.float32))


def test_samples_carry_exact_occluder_labels(clip):
    batch = batch_of([clip], 24, np.random.default_rng(0), occluded=1.0)
    assert batch.x.shape == (24, 7, NET_SIDE, NET_SIDE)
    assert batch.y.shape == batch.w.shape == (24, 1, NET_SIDE, NET_SIDE)
    assert set(np.unique(batch.y)) <= {0.0, 1.0}
    assert (batch.y.reshape(24, -1).max(axis=1) > 0).mean() > 0.5  # most show the occluder
    assert (batch.y <= (batch.w > 0)).all()  # labels only where the runtime judges
    clean = batch_of([clip], 8, np.random.default_rng(1), occluded=0.0)
    assert not clean.y.any()


def test_the_network_keeps_its_input_size():
    out = VisibilityNet()(torch.zeros(2, 7, NET_SIDE, NET_SIDE))
    assert out.shape == (2, 1, NET_SIDE, NET_SIDE)


def test_a_short_run_exports_what_the_runtime_loads(clip, tmp_path):
    cfg = VisibilityTrainConfig(tmp_path / "vis", steps=6, batch=4, samples=16,
                                val_samples=8, validate_every=3)
    report = train_visibility([clip], [clip], cfg)
    meta = json.loads((tmp_path / "vis" / "model.json").read_text())
    assert meta["side"] == NET_SIDE and meta["net"] == "visibility.onnx"
    assert meta["validation"] == json.loads(json.dumps(report["validation"]))
    assert {"network", "classical_residual"} <= set(meta["validation"])
    assert [h["step"] for h in meta["history"]] == [3, 6]
    net = OcclusionNet(tmp_path / "vis")  # sha256 checked
    face = np.ones((90, 80), bool)
    prob = net.hidden(np.zeros((90, 80, 3), np.uint8), np.zeros((120, 120, 3), np.uint8),
                      np.zeros((90, 80, 2), np.float32), face)
    assert prob.shape == (NET_SIDE, NET_SIDE) and ((prob >= 0) & (prob <= 1)).all()
