"""The PPCE head, its losses, the teacher, and export parity (torch vs onnxruntime)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the build side needs torch (pip install '.[train]')")
onnx = pytest.importorskip("onnx", reason="export needs onnx (pip install '.[train]')")

from streamedit_build import losses  # noqa: E402
from streamedit_build.head import convex_upsample  # noqa: E402
from streamedit_build.model import (PPCE, ModelConfig, load_checkpoint,  # noqa: E402
                                    save_checkpoint)
from streamedit_build.onnx_export import (OPSET, check_parity, example_inputs,  # noqa: E402
                                          export_model)
from streamedit_build.teacher import best_of  # noqa: E402

from streamedit_sdk.maps import identity_map  # noqa: E402


@pytest.fixture(scope="module")
def model() -> PPCE:
    torch.manual_seed(0)
    return PPCE(ModelConfig()).eval()


def test_untrained_head_returns_the_initial_map_and_photometric_sigma(model):
    _, inputs = example_inputs(model, 96, 128)
    with torch.no_grad():
        out_map, log_sigma = model.head(*inputs)
    assert out_map.shape == (1, 2, 96, 128) and log_sigma.shape == (1, 1, 96, 128)
    assert torch.allclose(out_map, inputs[2], atol=1e-4)
    # sigma starts as the windowed photometric residual: ~0.01 (its floor) where the warped
    # reference matches the frame, large where it does not
    f_cur, f_ref, _, face, _, ref_gray = inputs
    grid = torch.stack(torch.meshgrid(torch.arange(128.0), torch.arange(96.0),
                                      indexing="xy"))[None]
    cur_gray = ref_gray.clone()
    cur_gray[..., 64:] = torch.rand(1, 1, 96, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        _, log_sigma = model.head(f_cur, f_ref, grid, face, cur_gray, ref_gray)
    sigma = log_sigma.exp()[0, 0]
    assert float(sigma[:, :56].max()) < 0.012
    assert float(sigma[:, 72:].min()) > 0.1


def test_trained_weights_move_the_map(model):
    trained = PPCE(ModelConfig()).eval()
    trained.load_state_dict(model.state_dict())
    with torch.no_grad():
        trained.head.update.bias[1] = 0.5  # a residual of half a feature cell in x
    _, inputs = example_inputs(trained, 64, 64)
    with torch.no_grad():
        out_map, _ = trained.head(*inputs)
    shift = (out_map - inputs[2])[0, 0]
    assert torch.allclose(shift, torch.full_like(shift, 0.5 * trained.head.stride), atol=1e-4)


def test_convex_upsampling_keeps_a_constant_field():
    x = torch.full((1, 2, 5, 7), 3.25)
    mask = torch.randn(1, 9 * 16, 5, 7)
    up = convex_upsample(x, mask, 4)
    assert up.shape == (1, 2, 20, 28)
    assert torch.allclose(up, torch.full_like(up, 3.25), atol=1e-5)


def test_laplace_nll_is_smallest_at_the_mean_absolute_residual():
    resid = torch.rand(1, 1, 32, 32) * 0.2
    valid = torch.ones_like(resid)
    best = resid.mean()
    scores = {s: float(losses.laplace_nll(resid, torch.full_like(resid, float(np.log(s))), valid))
              for s in (best * 0.5, best, best * 2)}
    assert min(scores, key=scores.get) == best


def test_end_point_error_and_smoothness():
    grid = torch.from_numpy(identity_map(16, 16)).permute(2, 0, 1)[None]
    valid = torch.ones(1, 1, 16, 16)
    assert float(losses.end_point_error(grid, grid, valid)) < 1e-2
    assert abs(float(losses.end_point_error(grid + torch.tensor([3.0, 4.0]).view(1, 2, 1, 1),
                                            grid, valid)) - 5.0) < 1e-3
    image = torch.rand(1, 3, 16, 16)
    assert float(losses.smoothness(torch.ones(1, 2, 16, 16), image)) == 0.0
    assert float(losses.smoothness(torch.randn(1, 2, 16, 16), image)) > 0.0


def test_best_of_teacher_picks_the_better_map_per_region(rng):
    ref = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    truth = identity_map(64, 64) + np.float32([2.0, 0.0])
    import cv2
    cur = cv2.remap(ref, truth, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    left_good, right_good = truth.copy(), truth.copy()
    left_good[:, 32:] += 3.0
    right_good[:, :32] -= 3.0
    best = best_of(cur, ref, [left_good, right_good])
    assert np.abs(best - truth)[8:-8, 8:24].max() < 1e-5
    assert np.abs(best - truth)[8:-8, 40:56].max() < 1e-5


def test_checkpoint_round_trip(model, tmp_path):
    save_checkpoint(tmp_path / "m.pt", model, None, 7, {"note": 1})
    loaded, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["step"] == 7 and loaded.config == model.config
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(FileNotFoundError, match="streamedit train"):
        load_checkpoint(tmp_path / "none.pt")


def test_export_parity_and_opset(model, tmp_path):
    with torch.no_grad():  # weights that do something, not the zero-initialised outputs
        for p in model.head.update.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
        for p in model.head.up_mask.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    exported = export_model(model, tmp_path / "m")
    parity = check_parity(model, exported)
    assert parity.map_px < 0.05, parity
    assert parity.log_sigma < 1e-3, parity
    for path in (exported.backbone, exported.head):
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= OPSET
    head_inputs = [i.name for i in onnx.load(str(exported.head)).graph.input]
    assert head_inputs == ["feat_cur", "feat_ref", "init_map", "face", "cur_gray", "ref_gray"]


@pytest.mark.parametrize("backbone", ["portrait", "dinov2_vits14"])
def test_torchscript_export_matches_the_modules_at_other_sizes(tmp_path, backbone):
    """The runtime's torch backends load the traced networks: the trace (made at 256x192)
    must keep frame sizes dynamic, and the backend must run it without the build package."""
    from streamedit_sdk.backends.torch import TorchBackend

    torch.manual_seed(1)
    net = PPCE(ModelConfig(backbone=backbone)).eval()
    with torch.no_grad():
        for p in net.head.update.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    export_model(net, tmp_path / "m")
    backbone_rt = TorchBackend(tmp_path / "m" / "backbone.onnx")
    head_rt = TorchBackend(tmp_path / "m" / "head.onnx")
    for h, w in ((144, 256), (200, 136)):
        image, inputs = example_inputs(net, h, w)
        with torch.no_grad():
            want_feats = net.backbone(image).numpy()
            want_map, want_sigma = (t.numpy() for t in net.head(*inputs))
        got = backbone_rt.infer({"image": image.numpy()})["features"]
        names = ("feat_cur", "feat_ref", "init_map", "face", "cur_gray", "ref_gray")
        out = head_rt.infer({n: t.numpy() for n, t in zip(names, inputs)})
        np.testing.assert_allclose(got, want_feats, atol=1e-5)
        np.testing.assert_allclose(out["map"], want_map, atol=1e-4)
        np.testing.assert_allclose(out["log_sigma"], want_sigma, atol=1e-5)


def test_synthetic_pair_is_the_reference_at_its_true_map(rng):
    import cv2
    from streamedit_build.data import ClipFrames, PairMaker

    from streamedit_sdk import kernels
    from streamedit_sdk.apps.synthetic import astronaut
    frame = cv2.resize(astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    clip = ClipFrames("a", frame[None], np.full((1, 478, 2), np.nan, np.float32))
    pair = PairMaker("ultrafast", lk=1).synthetic(clip, 0, rng)
    assert pair.true_map.shape == (128, 128, 2) and np.isfinite(pair.init_map).all()
    redrawn = kernels.grid_sample(pair.ref, pair.true_map, border="replicate")
    diff = np.abs(redrawn.astype(np.float32) - pair.cur.astype(np.float32))
    assert diff.mean() < 10  # the photometric jitter (gain, bias, noise), nothing else
    assert np.abs(pair.true_map - identity_map(128, 128)).max() > 0.5  # it did move
