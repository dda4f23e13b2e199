"""MediaPipe Tasks: the shipped models and their hashes, quiet native logs, installable Pythons."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from streamedit_sdk.apps import synthetic
from streamedit_sdk.io.video import VideoWriter
from streamedit_sdk.perception import mediapipe as mpipe
from streamedit_sdk.perception.landmarks import LandmarkTracker
from streamedit_sdk.perception.segmentation import PersonSegmenter

CLI = [sys.executable, "-m", "streamedit_sdk.cli"]
# What absl, glog and TFLite / LiteRT write: "W0000 00:00:17.5 12 file.cc:181] ...",
# "INFO: Created TensorFlow Lite ...", "WARNING: [model_load.cc:402] ...", "All log messages
# before absl::InitializeLog() ...".
NATIVE = re.compile(r"^[IWEF]\d{4} |TensorFlow Lite|LiteRt|absl|InitGoogle|^\w+: \[[\w.]+:\d+\]",
                    re.MULTILINE)


def test_the_models_ship_with_their_hashes_and_license():
    notice = (mpipe.MODEL_DIR / "NOTICE.md").read_text(encoding="utf-8")
    assert (mpipe.MODEL_DIR / "LICENSE-Apache-2.0.txt").is_file()
    assert mpipe.FACE_LANDMARKER.sha256 == (
        "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff")  # the official one
    for model in mpipe.MODELS:
        assert mpipe.file_sha256(model) == model.sha256, model.name
        assert model.sha256 in notice and model.name in notice


def test_a_damaged_or_missing_model_is_refused(tmp_path, monkeypatch):
    for model in mpipe.MODELS:
        shutil.copy(model.path, tmp_path / model.name)
    monkeypatch.setattr(mpipe, "MODEL_DIR", tmp_path)
    damaged = tmp_path / mpipe.FACE_DETECTOR_FAR.name
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(mpipe.ModelFileError, match="damaged or was replaced; reinstall"):
        LandmarkTracker()
    (tmp_path / mpipe.SELFIE_SEGMENTER.name).unlink()
    with pytest.raises(mpipe.ModelFileError, match="missing"):
        PersonSegmenter()
    assert mpipe.model_hashes()[mpipe.SELFIE_SEGMENTER.name] is None


def test_native_lines_are_caught_and_other_lines_kept(capfd, caplog):
    caplog.set_level("DEBUG", logger=mpipe.__name__)
    with mpipe.native_logs_quiet():
        os.write(2, b"W0000 00:00:1796181931.584502    6102 face_landmarker_graph.cc:181] x\n"
                 b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
                 b"a line of our own\n")
    assert capfd.readouterr().err == "a line of our own\n"
    assert "face_landmarker_graph.cc:181" in caplog.text


ALIGNMENT = (b"W0000 00:00:1796204760.576851   28174 inference_runner_litert.cc:1433] Input tensor "
             b"memory is not aligned according to LiteRt's memory alignment requirements.\n")


def test_runs_are_caught_until_the_once_per_process_alignment_line(capfd, caplog, monkeypatch):
    """LiteRT's alignment warning comes once per process, on whichever run first meets a
    misaligned tensor (in CI: a second tracker's first face, after every warm-up): runs are
    caught, nested inside a graph's start too, until it has been seen, then left alone."""
    caplog.set_level("DEBUG", logger=mpipe.__name__)
    late = mpipe._LateLines()
    monkeypatch.setattr(mpipe, "_LATE", late)
    with mpipe.native_logs_quiet():  # a graph starting, whose first run is caught as well
        with late.catching():
            os.write(2, b"ours, inside\n")
    with late.catching():
        os.write(2, b"I0000 00:00:1.5 12 gl_context.cc:369] x\n")
    with late.catching():
        os.write(2, ALIGNMENT + b"ours, late\n")
    assert capfd.readouterr().err == "ours, inside\nours, late\n"
    assert "gl_context.cc:369" in caplog.text and "inference_runner_litert" in caplog.text
    with late.catching():  # seen: runs are no longer caught
        os.write(2, b"I0000 00:00:1.5 12 gl_context.cc:369] y\n")
    assert "gl_context.cc:369] y" in capfd.readouterr().err

    spent = mpipe._LateLines(runs=2)
    assert [type(spent.catching()).__name__ for _ in range(3)][-1] == "nullcontext"


def test_graphs_start_run_and_close_without_a_native_line():
    """In a fresh process (the first graph prints the most): a tracker, small faces (the
    full-range detector), the segmenter, closed, and one left for the interpreter to close."""
    code = ("import numpy as np, cv2\n"
            "from streamedit_sdk.apps import synthetic\n"
            "from streamedit_sdk.perception.landmarks import LandmarkTracker\n"
            "from streamedit_sdk.perception.segmentation import PersonSegmenter\n"
            "face = synthetic.astronaut()\n"
            "small = np.full((1024, 1024, 3), 200, np.uint8)\n"
            "small[300:680, 350:730] = cv2.resize(face, (380, 380))\n"
            "t = LandmarkTracker()\n"
            "found = [t.track(f) is not None for f in (face, face, small, small)]\n"
            "t.reference(face); t.close()\n"
            "PersonSegmenter().mask(face)\n"
            "left_open = LandmarkTracker(); left_open.track(face)\n"
            "print(found)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[True, True, True, True]"
    assert not NATIVE.search(done.stderr), done.stderr[-2000:]
    assert done.stderr == ""


def test_edit_prints_nothing_from_mediapipe(tmp_path):
    clip = tmp_path / "in.mp4"
    with VideoWriter(clip, 25) as w:
        for frame in synthetic.clip(8)[0]:
            w.write(frame)
    done = subprocess.run(CLI + ["edit", str(clip), "-o", str(tmp_path / "out.mp4"),
                                 "--sticker", "star", "-q"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not NATIVE.search(done.stderr), done.stderr[-2000:]


def test_info_names_mediapipe_and_the_model_hashes():
    done = subprocess.run(CLI + ["info"], capture_output=True, text=True, timeout=60)
    info = json.loads(done.stdout)
    assert info["versions"]["mediapipe"] == metadata.version("mediapipe")
    assert info["models"] == {m.name: m.sha256 for m in mpipe.MODELS}


def _allows(requirement: Requirement, python: str) -> bool:
    """Whether ``requirement`` applies to (is not excluded on) ``python``, base install."""
    if requirement.marker is None:
        return True
    env = {"python_version": python, "python_full_version": f"{python}.0", "extra": ""}
    return requirement.marker.evaluate(env)


def test_the_installed_metadata_allows_python_3_13():
    """A 3.13 interpreter cannot be installed here: read what pip would read. The SDK's
    Requires-Python takes 3.13; no runtime requirement is limited by a Python-version marker;
    every installed runtime dependency's Requires-Python takes 3.13; mediapipe is the
    interpreter-independent wheel (0.10.x had cp39-cp312 wheels only)."""
    sdk = metadata.metadata("streamedit-sdk")
    assert SpecifierSet(sdk["Requires-Python"]).contains("3.13")
    assert "Programming Language :: Python :: 3.13" in sdk.get_all("Classifier")
    runtime = [Requirement(r) for r in metadata.requires("streamedit-sdk")
               if "extra ==" not in r]
    names = {r.name.lower() for r in runtime}
    assert {"mediapipe", "numpy", "onnxruntime", "av"} <= names
    for req in runtime:
        assert _allows(req, "3.11") == _allows(req, "3.13"), f"{req} depends on the Python"
        spec = metadata.metadata(req.name).get("Requires-Python")
        assert spec is None or SpecifierSet(spec).contains("3.13"), f"{req.name}: {spec}"
    mediapipe = next(r for r in runtime if r.name == "mediapipe")
    assert not mediapipe.specifier.contains("0.10.14") and mediapipe.specifier.contains("1.2.3")
    wheel = metadata.distribution("mediapipe").read_text("WHEEL")
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines()
            if line.startswith("Tag:")]
    assert tags and all(t.split("-")[:2] == ["py3", "none"] for t in tags), tags
    protobuf = [r for r in metadata.requires("streamedit-sdk") if r.startswith("protobuf")]
    assert protobuf == []  # no pin on protobuf, directly ...
    onnx = next(Requirement(r) for r in metadata.requires("streamedit-sdk")
                if r.startswith("onnx") and not r.startswith("onnxruntime"))
    assert onnx.specifier.contains("1.20.0")  # ... or through onnx (was < 1.18 for protobuf 4)


@pytest.mark.parametrize("video", [True, False])
def test_faces_come_back_in_frame_pixels(video):
    """The same face 24 px further right on a wider frame comes back 24 px further right."""
    photo = synthetic.astronaut()
    h, w = photo.shape[:2]
    frames = []
    for dx in (0, 24):
        frame = np.zeros((h, w + 24, 3), np.uint8)
        frame[:, dx:dx + w] = photo
        frames.append(frame)
    faces = mpipe.Faces(video=video, num_faces=1, confidence=0.5)
    try:
        a, b = (faces.find(f)[0] for f in frames)
    finally:
        faces.close()
    assert a.shape == (478, 2) and a.dtype == np.float32
    assert 0.3 * w < a[:, 0].mean() < 0.7 * w and 0.1 * h < a[:, 1].mean() < 0.6 * h
    assert np.linalg.norm(b - (24, 0) - a, axis=1).mean() < 3.0
