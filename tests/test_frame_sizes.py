"""Every frame size that ``edit`` takes works in ``eval``, ``bench --video``, ``fit`` and
``train`` too: odd sizes, sizes that are not multiples of 8, rows that PyAV pads."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from streamedit_sdk.cli import main
from streamedit_sdk.io.video import VideoReader, VideoWriter

SIZES = ["511x333", "524x524", "700x700", "844x844", "1364x720"]


@pytest.fixture(scope="module")
def sized_clips(clips, tmp_path_factory) -> dict[str, Path]:
    """8 frames of a real portrait clip, scaled and cropped to each size (kept exactly)."""
    folder = tmp_path_factory.mktemp("sizes")
    out = {}
    for size in SIZES:
        w, h = map(int, size.split("x"))
        path = folder / f"{size}.mp4"
        with VideoWriter(path, 25, pix_fmt="yuv444p") as writer:
            for i, frame in enumerate(VideoReader(clips / "d18.mp4")):
                if i == 8:
                    break
                fh, fw = frame.shape[:2]
                s = max(w / fw, h / fh)
                big = cv2.resize(frame, (round(fw * s), round(fh * s)))
                y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
                writer.write(big[y0:y0 + h, x0:x0 + w])
        out[size] = path
    return out


@pytest.mark.parametrize("size", SIZES)
def test_edit_eval_and_bench_take_every_size(sized_clips, tmp_path, size):
    clip = sized_clips[size]
    w, h = map(int, size.split("x"))
    assert next(iter(VideoReader(clip))).shape == (h, w, 3)
    out = tmp_path / "out.mp4"
    assert main(["edit", str(clip), "-o", str(out), "--sticker", "star", "-q"]) == 0
    frames = list(VideoReader(out))
    # yuv420p: an odd side gains one repeated edge pixel, nothing is cut
    assert len(frames) == 8 and frames[0].shape == (h + h % 2, w + w % 2, 3)
    scores = tmp_path / "eval.json"
    assert main(["eval", str(clip), "-q", "--only", "fixed,fidelity", "--json",
                 str(scores)]) == 0
    assert json.loads(scores.read_text())["fidelity"]
    bench = tmp_path / "bench.json"
    assert main(["bench", "--video", str(clip), "--size", "160x160", "--frames", "3", "-q",
                 "--json", str(bench)]) == 0
    assert bench.is_file()


def test_fit_and_train_take_odd_sizes(sized_clips, tmp_path):
    pytest.importorskip("torch", reason="fit and train need the [train] extra")
    clip = sized_clips["511x333"]
    assert main(["fit", str(clip), "-o", str(tmp_path / "fit"), "--steps", "2", "--batch",
                 "2", "--frames", "8", "--pairs", "8", "--validate-every", "0", "-q",
                 "--cache", str(tmp_path / "cache")]) == 0
    folder = tmp_path / "clips"
    folder.mkdir()
    for size in ("511x333", "844x844", "1364x720"):
        (folder / f"{size}.mp4").symlink_to(sized_clips[size])
    assert main(["train", "--clips", str(folder), "--val", "1364x720", "-o",
                 str(tmp_path / "train"), "--steps", "2", "--batch", "2", "--validate-every",
                 "0", "-q", "--cache", str(tmp_path / "cache2"), "--pairs-per-clip", "4",
                 "--workers", "1"]) == 0
    assert (tmp_path / "fit" / "export").is_dir() and (tmp_path / "train" / "export").is_dir()
