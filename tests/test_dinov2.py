"""DINOv2 ViT-S/14: the architecture runs at any size and loads the user's weights from both
official formats (random weights written by the test; nothing is downloaded)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch", reason="the build side needs torch (pip install '.[train]')")
from safetensors.torch import save_file  # noqa: E402
from streamedit_build.dinov2 import (DinoV2Small, WeightsError, load_dinov2_weights,  # noqa: E402
                                     to_hugging_face)


@pytest.fixture(scope="module")
def random_model() -> DinoV2Small:
    torch.manual_seed(0)
    model = DinoV2Small().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.02)
    return model


def _features(model: DinoV2Small, h: int = 70, w: int = 98) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1)))


def test_any_input_size_gives_patch_features(random_model):
    out = _features(random_model, 100, 130)  # not multiples of 14: padded, positions resized
    assert out.shape == (1, 384, 8, 10)
    assert torch.isfinite(out).all()


def test_torch_hub_state_dict_round_trip(random_model, tmp_path):
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(random_model.state_dict(), path)
    fresh = DinoV2Small().eval()
    load_dinov2_weights(fresh, path)
    assert torch.equal(_features(fresh), _features(random_model))


def test_hugging_face_folder_round_trip(random_model, tmp_path):
    folder = tmp_path / "dinov2-small"
    folder.mkdir()
    hf = {f"dinov2.{k}" if k.startswith("embeddings.cls") else k: v
          for k, v in to_hugging_face(random_model.state_dict()).items()}
    save_file(hf, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"model_type": "dinov2", "hidden_size": 384}))
    fresh = DinoV2Small().eval()
    load_dinov2_weights(fresh, folder)
    assert torch.equal(_features(fresh), _features(random_model))


def test_missing_file_names_it(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_dinov2_weights(DinoV2Small(), tmp_path / "nope.pth")
    with pytest.raises(WeightsError, match="model.safetensors"):
        load_dinov2_weights(DinoV2Small(), tmp_path)  # a folder without the weights file


def test_key_mismatch_names_the_first_missing_keys(random_model, tmp_path):
    state = dict(random_model.state_dict())
    del state["blocks.3.attn.qkv.weight"]
    state["head.weight"] = torch.zeros(3)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError) as err:
        load_dinov2_weights(DinoV2Small(), path)
    assert "blocks.3.attn.qkv.weight" in str(err.value) and "head.weight" in str(err.value)
    assert str(path) in str(err.value)


def test_other_size_is_refused_with_shapes(tmp_path):
    state = DinoV2Small().state_dict()
    state["norm.weight"] = torch.zeros(768)  # a ViT-B/14 would have 768 channels
    path = tmp_path / "vitb.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match="norm.weight has shape"):
        load_dinov2_weights(DinoV2Small(), path)
