"""`streamedit train`, `fit` and `export` end to end on two tiny clips (a few steps each):
checkpoints, resuming, the exported model loading in the runtime, and the error paths."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the build side needs torch (pip install '.[train]')")

from streamedit_sdk import cli  # noqa: E402
from streamedit_sdk.apps.synthetic import clip as synthetic_clip  # noqa: E402
from streamedit_sdk.correspondence.factory import open_ppce  # noqa: E402
from streamedit_sdk.io.video import VideoWriter  # noqa: E402


def _write_clip(path, frames):
    with VideoWriter(path, 25) as w:
        for f in frames:
            w.write(f)


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    frames = [f[::2, ::2].copy() for f in synthetic_clip(frames=14)[0]]  # 256x256 portrait
    _write_clip(d / "a.mp4", frames[:10])
    _write_clip(d / "b.mp4", frames[4:])
    return d


def _tiny(out, cache, steps=3):
    return ["-o", str(out), "--cache", str(cache), "--steps", str(steps), "--batch", "2",
            "--crop", "64", "--threads", "1", "--max-gap", "4", "--validate-every", "2", "-q"]


@pytest.fixture(scope="module")
def trained(clips_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    out, cache = root / "run", root / "cache"
    args = ["train", "--clips", str(clips_dir), "--val", "b", "--side", "128",
            "--pairs-per-clip", "3", "--workers", "1", *_tiny(out, cache)]
    assert cli.main(args) == 0
    return out, cache, args


def test_train_writes_checkpoints_report_and_a_loadable_model(trained):
    out, _, _ = trained
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    report = json.loads((out / "train_report.json").read_text())
    assert report["steps"] == 3 and report["validation_clips"] == ["b"]
    assert report["export"]["parity"]["map_px"] < 0.05
    model = open_ppce(out / "export", threads=1)
    assert model.info.side == 128
    frame = np.zeros((200, 160, 3), np.uint8)
    ref = model.encode_reference(frame)
    from streamedit_sdk.maps import identity_map
    corr = model.predict(frame, ref, identity_map(200, 160))
    assert corr.map.shape == (200, 160, 2)


def test_train_resumes_from_last_checkpoint(trained):
    out, cache, args = trained
    i = args.index("--steps")
    more = args[:i + 1] + ["5"] + args[i + 2:] + ["--resume"]
    assert cli.main(more) == 0
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["step"] == 5
    steps = [h["step"] for h in ckpt["extra"]["history"]]
    assert steps[0] <= 3 and steps[-1] == 5  # the history goes on, it does not restart


def test_fit_and_export(trained, clips_dir, tmp_path, capsys):
    out, cache, _ = trained
    fit_out = tmp_path / "fit"
    assert cli.main(["fit", str(clips_dir / "a.mp4"), "--from", str(out / "best.pt"),
                     "--frames", "4", "--pairs", "2", *_tiny(fit_out, cache, steps=2)]) == 0
    printed = capsys.readouterr().out
    assert "fitted on frames 0-3 of a.mp4 in" in printed
    report = json.loads((fit_out / "fit_report.json").read_text())
    assert report["frames"] == 4 and report["seconds"] > 0
    assert report["validation"]["psnr_model"] > 0  # frames 4-9 were held out
    open_ppce(fit_out / "export", threads=1)
    exp = tmp_path / "exp"
    assert cli.main(["export", str(fit_out / "last.pt"), "-o", str(exp)]) == 0
    assert "onnxruntime vs torch" in capsys.readouterr().out
    assert (exp / "head.onnx").is_file()


def test_user_errors_are_one_line(clips_dir, tmp_path, capsys):
    assert cli.main(["train", "--clips", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert "no .mp4 clips" in capsys.readouterr().err
    assert cli.main(["train", "--clips", str(clips_dir), "--val", "zz", "-o",
                     str(tmp_path / "o")]) == 2
    assert "validation clips ['zz']" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path / "none.pt"), "-o", str(tmp_path / "e")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["fit", str(tmp_path / "none.mp4")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_missing_torch_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "streamedit_build.commands", None)
    assert cli.main(["export", "x.pt", "-o", str(tmp_path)]) == 2
    assert "pip install torch==2.13.0" in capsys.readouterr().err


def test_teacher_pool_in_worker_processes_matches_in_process(clips_dir, tmp_path):
    """The teacher maps computed on two spawned processes equal the in-process ones."""
    from streamedit_build.teacher import build_teacher_pool

    paths = [clips_dir / "a.mp4", clips_dir / "b.mp4"]
    kw = dict(side=128, work_side=256, pairs_per_clip=2, max_gap=3, preset="ultrafast", lk=1,
              progress=False)
    two = build_teacher_pool(paths, cache_dir=tmp_path / "two", workers=2, **kw)
    one = build_teacher_pool(paths, cache_dir=tmp_path / "one", workers=1, **kw)
    assert [p.clip for p in two] == ["a", "b"]
    for a, b in zip(two, one):
        assert np.array_equal(a.index, b.index)
        np.testing.assert_allclose(a.target.astype(np.float32), b.target.astype(np.float32),
                                   atol=1e-2)
    again = build_teacher_pool(paths, cache_dir=tmp_path / "two", workers=2, **kw)
    assert np.array_equal(again[0].target, two[0].target)  # read back from the cache
