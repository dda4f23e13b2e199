"""The shipped PPCE model at run time: onnxruntime only, no torch; file checks; backends."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from streamedit_sdk.apps.synthetic import HeadMotion, astronaut, render
from streamedit_sdk.backends import open_network
from streamedit_sdk.backends.tensorrt import (EngineMeta, EngineMismatchError, read_engine,
                                              write_engine)
from streamedit_sdk.config import placement
from streamedit_sdk.correspondence.factory import open_ppce
from streamedit_sdk.correspondence.model_folder import ModelInfo, shipped_model_dir
from streamedit_sdk.errors import ModelFileError


def test_shipped_model_is_small_and_complete():
    folder = shipped_model_dir()
    info = ModelInfo.load(folder)
    size = sum((folder / n).stat().st_size for n in ("backbone.onnx", "head.onnx"))
    assert size < 20e6
    assert info.side >= 64 and info.stride in (4, 8, 14)
    assert (folder / "MODEL.md").is_file()


def test_loads_and_predicts_without_torch():
    """A fresh process in which importing torch fails: the editor's model still runs."""
    code = textwrap.dedent("""
        import sys
        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked in this test")
        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        from streamedit_sdk.maps import identity_map
        from streamedit_sdk.correspondence.factory import open_ppce
        from streamedit_sdk.apps.synthetic import astronaut
        img = astronaut()
        model = open_ppce(threads=1)
        ref = model.encode_reference(img)
        corr = model.predict(img, ref, identity_map(512, 512))
        assert corr.map.shape == (512, 512, 2) and corr.sigma.shape == (512, 512)
        assert np.isfinite(corr.map).all() and (corr.sigma > 0).all()
        assert "torch" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_known_motion_is_recovered():
    img = astronaut()
    true = HeadMotion().true_map(9, 512, 512)
    cur = render(img, true)
    model = open_ppce(threads=1)
    ref = model.encode_reference(img)
    from streamedit_sdk.maps import identity_map
    corr = model.predict(cur, ref, identity_map(512, 512))
    epe = np.linalg.norm(corr.map - true, axis=-1)[32:-32, 32:-32]
    assert float(np.mean(epe)) < 1.5


@pytest.fixture
def model_copy(tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(shipped_model_dir(), dst)
    return dst


def test_corrupt_onnx_is_refused_at_load(model_copy):
    path = model_copy / "head.onnx"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="corrupt"):
        open_ppce(model_copy)


def test_missing_files_are_named(model_copy, tmp_path):
    (model_copy / "backbone.onnx").unlink()
    with pytest.raises(ModelFileError, match="backbone.onnx is missing"):
        open_ppce(model_copy)
    with pytest.raises(ModelFileError, match="model.json is missing"):
        open_ppce(tmp_path)


def test_unreadable_onnx_without_checksum_is_a_clear_error(model_copy):
    meta = json.loads((model_copy / "model.json").read_text())
    meta["sha256"] = {}
    (model_copy / "model.json").write_text(json.dumps(meta))
    (model_copy / "head.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a valid ONNX model"):
        open_ppce(model_copy)


def test_backend_checks_inputs():
    net = open_network(placement("ort-cpu"), shipped_model_dir() / "backbone.onnx", threads=1)
    assert [s.name for s in net.inputs] == ["image"]
    assert [s.name for s in net.outputs] == ["features"]
    with pytest.raises(ValueError, match="input 'image' is missing"):
        net.infer({})
    with pytest.raises(ValueError, match="float32"):
        net.infer({"image": np.zeros((1, 3, 64, 64), np.float64)})
    out = net.infer({"image": np.zeros((1, 3, 64, 96), np.float32)})["features"]
    assert out.shape[:2] == (1, ModelInfo.load(shipped_model_dir()).channels)


def _meta(**changes) -> EngineMeta:
    base = dict(sdk_version="0.1.0", tensorrt_version="10.3.0", compute_capability="9.0",
                gpu="NVIDIA H100", precision="fp16", onnx_sha256="ab" * 32,
                profiles={"image": [[1, 3, 64, 64], [1, 3, 256, 256], [1, 3, 256, 256]]},
                created="2026-11-26T00:00:00+00:00")
    base.update(changes)
    return EngineMeta(**base)


def test_engine_metadata_round_trip_and_mismatch(tmp_path):
    path = tmp_path / "head.engine"
    write_engine(path, _meta(), b"\x00engine-bytes")
    meta, blob = read_engine(path, _meta())
    assert meta == _meta() and blob == b"\x00engine-bytes"
    with pytest.raises(EngineMismatchError, match="compute capability 9.0 .*needs 8.6"):
        read_engine(path, _meta(compute_capability="8.6"))
    with pytest.raises(EngineMismatchError, match="TensorRT 10.3.0 .*needs 10.5.0"):
        read_engine(path, _meta(tensorrt_version="10.5.0"))
    assert _meta().key() != _meta(precision="fp32").key()
    assert _meta().key() == _meta(created="later", gpu="same kind").key()


def test_engine_without_header_is_refused(tmp_path):
    path = tmp_path / "plain.engine"
    path.write_bytes(b"raw tensorrt plan")
    with pytest.raises(ModelFileError, match="no metadata header"):
        read_engine(path)


def test_tensorrt_engine_build():
    pytest.importorskip("tensorrt", reason="TensorRT is not installed on this machine")
    pytest.importorskip("pycuda", reason="pycuda is not installed on this machine")
    from streamedit_sdk.backends.netspec import profiles
    from streamedit_sdk.backends.tensorrt import cached_engine

    folder = shipped_model_dir()
    prof = profiles(ModelInfo.load(folder).meta)
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        path = cached_engine(folder / "backbone.onnx", Path(d), prof["backbone.onnx"])
        assert cached_engine(folder / "backbone.onnx", Path(d), prof["backbone.onnx"]) == path
        meta, blob = read_engine(path)
        assert meta.precision == "fp16" and len(blob) > 0
